# Windows Firewall rules for CAS (profile cm2007, WSUS web site custom).
# WSUS initiates all its network traffic: no inbound rule from the Internet is suggested.
# Windows Firewall allows outbound traffic unless its default outbound action is Block;
# the outbound rules matter only there.

# CAS synchronizes from Microsoft Update: outbound to the entries' ports [80].
# Windows Firewall cannot match host names, and Microsoft's addresses change (do not use
# address ranges): this allows any destination on these ports, beyond the list; the proxy
# or perimeter firewall enforces the host names.
# fixes finding d2c8956f8402 (3 flows)
New-NetFirewallRule -DisplayName 'WSUS to Microsoft Update (tcp 80)' -Group 'WSUS (analyzer)' -Direction Outbound -Protocol TCP -RemotePort 80 -Action Allow -Description 'CAS to Microsoft Update'
