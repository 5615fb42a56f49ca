"""The README's run command: the local runtime, `pulumi up --stack local`, sample records, a summary."""
