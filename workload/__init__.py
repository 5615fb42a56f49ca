"""What runs on Kubernetes, rendered from the stack settings as plain data: the image layout, the
worker's files, the IAM policy and (soon) the workload's Kubernetes objects.

Pure functions only, no Pulumi resources: `components/` turns them into resources, while the local
runtime, the container and Kubernetes tests and the operator commands use the very same output.
"""
