"""A single-node Kubernetes cluster for a test session: `python -m localkube up|down|status`.

Built from the binaries tools/kubernetes/build.sh makes and Debian's etcd, containerd, runc and CNI
plugins. Every address it uses is loopback or one it creates itself: a dummy interface carries the
node IP, the pods live on a bridge of their own, and nothing routes anywhere else.
"""
