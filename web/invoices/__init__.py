"""The invoice as a document: status, money, totals, parties, capability links, the seller's logo."""
