-- expect: tls: (work limit \(500 handshakes per evaluation\) exceeded|renegotiate|count)
return tls{version="1.2", key_type="ec:P-256", renegotiate=100, count=100}
