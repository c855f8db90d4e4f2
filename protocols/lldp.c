typedef int umpa_placeholder_lldp;
