typedef int umpa_placeholder_dhcpv6;
