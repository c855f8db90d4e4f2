-- expect: memory limit \(256 MiB\) exceeded|not enough memory|time limit exceeded
-- a conversation whose packets outgrow the cap mid-pump: the pump is freed, nothing leaks
return tls{key_type="ec:P-256", send_client=string.rep("x", 150e6)}
