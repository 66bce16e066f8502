"""E-invoices (EN 16931): the invoice document as CII (Factur-X / ZUGFeRD, XRechnung) and UBL 2.1."""
