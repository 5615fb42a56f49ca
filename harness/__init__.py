"""Running the Pulumi program outside a real deployment, for the tests and the benchmarks.

- `mocked_program`: the whole eks program under Pulumi mocks, every registration recorded;
- `project_copy`: a copy of the program in a temporary project, run with the real CLI against
  the local runtime.

This is the only package besides the program's own that imports `stacks`: the benchmarks measure
the program through it (see docs/architecture.md).
"""
