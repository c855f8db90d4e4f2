typedef int umpa_placeholder_ntp;
