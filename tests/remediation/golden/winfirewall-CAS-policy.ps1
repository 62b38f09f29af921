# Windows Firewall rules for CAS (profile cm2007, WSUS web site custom).
# WSUS initiates all its network traffic: no inbound rule from the Internet is suggested.
# Windows Firewall allows outbound traffic unless its default outbound action is Block;
# the outbound rules matter only there.

# PRI1 -> CAS: http on port 8530
New-NetFirewallRule -DisplayName 'WSUS http from PRI1 (PRI1 -> CAS)' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8530 -RemoteAddress 192.0.2.20 -Action Allow -Description 'PRI1 synchronizes from CAS over http'

# PRI1 -> CAS: https on port 8531
New-NetFirewallRule -DisplayName 'WSUS https from PRI1 (PRI1 -> CAS)' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8531 -RemoteAddress 192.0.2.20 -Action Allow -Description 'PRI1 synchronizes from CAS over https'

# update clients connecting to CAS's WSUS ports
New-NetFirewallRule -DisplayName 'WSUS clients of CAS' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8530,8531 -RemoteAddress 192.0.2.0/24 -Action Allow -Description 'update clients of CAS'

# CAS synchronizes from Microsoft Update: outbound to the entries' ports [80, 443].
# Windows Firewall cannot match host names, and Microsoft's addresses change (do not use
# address ranges): this allows any destination on these ports, beyond the list; the proxy
# or perimeter firewall enforces the host names.
# fixes finding d2c8956f8402 (3 flows)
New-NetFirewallRule -DisplayName 'WSUS to Microsoft Update (tcp 80,443)' -Group 'WSUS (analyzer)' -Direction Outbound -Protocol TCP -RemotePort 80,443 -Action Allow -Description 'CAS to Microsoft Update'
