-- expect: key_type|key generation limit
-- shared/repro: one RSA-16384 key takes minutes to generate: refused before it starts
return tls{key_type="rsa:16384"}
