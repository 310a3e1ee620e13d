"""Sizes of the Lambda deployment packages: each bootstrap under target/lambda/, zipped with
deflate as SAM uploads it. `make build` prints them; BENCHMARKS.md records them."""

import io
import sys
import zipfile
from pathlib import Path


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/lambda")
    print(f"{'function':<10} {'bootstrap':>14} {'zipped':>14}")
    for bootstrap in sorted(root.glob("*/bootstrap")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(bootstrap, "bootstrap")
        size, zipped = bootstrap.stat().st_size, len(buf.getvalue())
        print(f"{bootstrap.parent.name:<10} {size:>10,} B {zipped:>10,} B  ({zipped / 1e6:.2f} MB, {zipped / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
