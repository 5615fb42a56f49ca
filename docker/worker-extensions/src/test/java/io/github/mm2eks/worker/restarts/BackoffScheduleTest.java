package io.github.mm2eks.worker.restarts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

class BackoffScheduleTest {

    @Test
    void followsStrimzisScheduleThenHourly() {
        BackoffSchedule schedule = new BackoffSchedule(Duration.ofMinutes(1));
        List<Long> minutes = IntStream.range(0, 12).mapToObj(n -> schedule.delay(n).toMinutes()).toList();
        assertEquals(List.of(0L, 2L, 6L, 12L, 20L, 30L, 42L, 56L, 60L, 60L, 60L, 60L), minutes);
    }

    @Test
    void theUnitScalesEveryStep() {
        BackoffSchedule schedule = new BackoffSchedule(Duration.ofSeconds(1));
        assertEquals(Duration.ofSeconds(6), schedule.delay(2));
        assertEquals(Duration.ofSeconds(60), schedule.delay(100));
    }

    @Test
    void manyRestartsDoNotOverflow() {
        BackoffSchedule schedule = new BackoffSchedule(Duration.ofMinutes(1));
        assertEquals(Duration.ofHours(1), schedule.delay(Integer.MAX_VALUE));
    }

    @Test
    void refusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new BackoffSchedule(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new BackoffSchedule(Duration.ofMinutes(1)).delay(-1));
    }
}
