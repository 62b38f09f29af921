# Windows Firewall rules for PRI1 (profile cm2007, WSUS web site custom).
# WSUS initiates all its network traffic: no inbound rule from the Internet is suggested.
# Windows Firewall allows outbound traffic unless its default outbound action is Block;
# the outbound rules matter only there.

# PRI1 -> CAS: http on port 8530
New-NetFirewallRule -DisplayName 'WSUS http to CAS (PRI1 -> CAS)' -Group 'WSUS (analyzer)' -Direction Outbound -Protocol TCP -RemotePort 8530 -RemoteAddress 192.0.2.10 -Action Allow -Description 'PRI1 synchronizes from CAS over http'

# PRI1 -> CAS: https on port 8531
New-NetFirewallRule -DisplayName 'WSUS https to CAS (PRI1 -> CAS)' -Group 'WSUS (analyzer)' -Direction Outbound -Protocol TCP -RemotePort 8531 -RemoteAddress 192.0.2.10 -Action Allow -Description 'PRI1 synchronizes from CAS over https'

# IBSUP -> PRI1: http on port 8530
New-NetFirewallRule -DisplayName 'WSUS http from IBSUP (IBSUP -> PRI1)' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8530 -RemoteAddress 198.51.100.30 -Action Allow -Description 'IBSUP synchronizes from PRI1 over http'

# IBSUP -> PRI1: https on port 8531
New-NetFirewallRule -DisplayName 'WSUS https from IBSUP (IBSUP -> PRI1)' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8531 -RemoteAddress 198.51.100.30 -Action Allow -Description 'IBSUP synchronizes from PRI1 over https'

# update clients connecting to PRI1's WSUS ports
New-NetFirewallRule -DisplayName 'WSUS clients of PRI1' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8530,8531 -RemoteAddress 192.0.2.0/24 -Action Allow -Description 'update clients of PRI1'
