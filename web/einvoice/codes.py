"""The code lists a billing team picks from: units (UN/ECE Recommendation 20), VAT categories (UNTDID 5305 as
EN 16931 restricts it) and the VATEX exemption reasons an e-invoice gives for the zero-rate categories."""

from __future__ import annotations

# The units a builder offers; all are in Recommendation 20 (EN 16931's BR-CL-23 code list).
UNITS = (
    ("C62", "piece"),
    ("HUR", "hour"),
    ("DAY", "day"),
    ("WEE", "week"),
    ("MON", "month"),
    ("ANN", "year"),
    ("MIN", "minute"),
    ("KGM", "kilogram"),
    ("MTR", "metre"),
    ("LTR", "litre"),
    ("MTK", "square metre"),
    ("KWH", "kilowatt hour"),
    ("SET", "set"),
    ("LS", "lump sum"),
)
UNIT_CODES = frozenset(code for code, _ in UNITS)

VAT_CATEGORIES = (
    ("S", "Standard rate"),
    ("Z", "Zero rated"),
    ("E", "Exempt"),
    ("AE", "Reverse charge"),
    ("K", "Intra-EU supply"),
    ("G", "Export outside the EU"),
    ("O", "Outside the scope of VAT"),
)
CATEGORY_CODES = frozenset(code for code, _ in VAT_CATEGORIES)
# Every category but S carries no VAT (EN 16931 BR-Z-5, BR-E-5, BR-AE-5, BR-IC-5, BR-G-5, BR-O-5).
ZERO_RATE_CATEGORIES = CATEGORY_CODES - {"S"}

# BT-121 and its text (BT-120) for the categories whose rules require a reason and whose reason is always the same;
# an exempt supply (E) gives its own, the legal basis the billing team writes (invoices.vat_exemption_reason).
EXEMPTION_REASONS = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "K": ("VATEX-EU-IC", "Intra-Community supply"),
    "G": ("VATEX-EU-G", "Export outside the EU"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}
