# Windows Firewall rules for IBSUP (profile cm2007, WSUS web site custom).
# WSUS initiates all its network traffic: no inbound rule from the Internet is suggested.
# Windows Firewall allows outbound traffic unless its default outbound action is Block;
# the outbound rules matter only there.

# IBSUP -> PRI1: http on port 8530
New-NetFirewallRule -DisplayName 'WSUS http to PRI1 (IBSUP -> PRI1)' -Group 'WSUS (analyzer)' -Direction Outbound -Protocol TCP -RemotePort 8530 -RemoteAddress 192.0.2.20 -Action Allow -Description 'IBSUP synchronizes from PRI1 over http'

# IBSUP -> PRI1: https on port 8531
New-NetFirewallRule -DisplayName 'WSUS https to PRI1 (IBSUP -> PRI1)' -Group 'WSUS (analyzer)' -Direction Outbound -Protocol TCP -RemotePort 8531 -RemoteAddress 192.0.2.20 -Action Allow -Description 'IBSUP synchronizes from PRI1 over https'

# update clients connecting to IBSUP's WSUS ports
New-NetFirewallRule -DisplayName 'WSUS clients of IBSUP' -Group 'WSUS (analyzer)' -Direction Inbound -Protocol TCP -LocalPort 8530,8531 -RemoteAddress 192.0.2.0/24 -Action Allow -Description 'update clients of IBSUP'
