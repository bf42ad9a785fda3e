"""Write one JSON Schema per event type into `parcelfsm/schemas/` (generated from the classes).

python scripts/gen_schemas.py          # rewrite parcelfsm/schemas/
python scripts/gen_schemas.py --check  # exit 1 when parcelfsm/schemas/ has drifted
"""

from __future__ import annotations

import sys
from pathlib import Path

from parcelfsm.schema import all_schemas

SCHEMAS = Path(__file__).resolve().parent.parent / "parcelfsm" / "schemas"


def main(argv: list[str]) -> int:
    wanted = all_schemas()
    if "--check" in argv:
        have = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
        drift = sorted(n for n in wanted.keys() | have.keys() if wanted.get(n) != have.get(n))
        for name in drift:
            print(f"drifted: parcelfsm/schemas/{name}")
        return 1 if drift else 0
    SCHEMAS.mkdir(exist_ok=True)
    for stale in SCHEMAS.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (SCHEMAS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} schemas to {SCHEMAS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
