-- expect: expands to more than 1000000 packets
return ip{id=range(0, 65535)}/tcp{dport=range(0, 65535)}
