-- expect: tls\{time=\.\.\.\}: .*out of range|tls: time
-- shared/repro: 9.9e9 s in nanoseconds overflowed int64 (UBSan)
return tls{time=9.9e9}
