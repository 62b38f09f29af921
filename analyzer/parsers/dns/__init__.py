"""Readers of DNS evidence: the Windows DNS client's CSV export (:mod:`.dnscsv`) and Zeek's
``dns.log`` (:mod:`.zeekdns`). Their records follow :data:`analyzer.flows.EVIDENCE_SCHEMA`."""
