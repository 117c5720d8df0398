#!/bin/sh
# eks-log-collector.sh: shim written by `eksnode ami` (step 37). Logs are collected by
# `eksnode collect-logs` (options: --output FILE, --root DIR); it never includes tokens or user data.
exec /usr/bin/eksnode collect-logs "$@"
