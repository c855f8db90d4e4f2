-- expect: larger than 262144 bytes
return ip{}/udp{}/string.rep("x", 1e7)
