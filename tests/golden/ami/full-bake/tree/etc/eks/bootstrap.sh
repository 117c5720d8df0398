#!/bin/sh
# /etc/eks/bootstrap.sh: compatibility shim written by `eksnode ami` (step 36).
# Node setup is `eksnode init`; it accepts bootstrap.sh's arguments (cluster name and flags) as they are.
exec /usr/bin/eksnode init "$@"
