module memgate.dev/workloads

go 1.21
