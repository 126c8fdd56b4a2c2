"""Exchange Server (on-premises) through EWS with exchangelib: the pure mapping
(``mapping*``), the blocking client run in threads (``client``), the provider and its factory."""
