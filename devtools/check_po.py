"""Check one catalog: every message translated, nothing fuzzy, placeholders and plural forms as in the source."""
import re, sys
from babel.messages.pofile import read_po
path = sys.argv[1]
with open(path, "rb") as f:
    catalog = read_po(f)
problems = 0
for message in catalog:
    if not message.id:
        continue
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strs = message.string if isinstance(message.string, tuple) else (message.string,)
    if message.fuzzy or not all(strs):
        print("UNTRANSLATED/FUZZY:", ids[0]); problems += 1; continue
    wanted = set(re.findall(r"%\(\w+\)s", " ".join(ids)))
    for s in strs:
        got = set(re.findall(r"%\(\w+\)s", s))
        # a plural form may leave out %(num)s (e.g. "one" written as a word), nothing else
        if got - wanted or (wanted - got) - {"%(num)s"}:
            print("PLACEHOLDERS:", ids[0], "->", s); problems += 1
    if isinstance(message.id, tuple) and len(strs) != catalog.num_plurals:
        print("PLURAL COUNT:", ids[0]); problems += 1
for message, errors in catalog.check():
    for e in errors:
        print("CHECK:", message.id, e); problems += 1
print(f"{path}: {problems} problems, {len([m for m in catalog if m.id])} messages")
sys.exit(1 if problems else 0)
