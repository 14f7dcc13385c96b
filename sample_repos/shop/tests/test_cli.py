import io
from pathlib import Path

import pytest

from shop.cli import main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_quote_command(catalog_file: Path) -> None:
    code, output = run("quote", "--catalog", str(catalog_file), "bolt-m6:200", "SAW-PRO:1")
    assert code == 0
    assert output.splitlines() == [
        "BOLT-M6 x200       $70.00    -$10.50",
        "SAW-PRO x1         $39.00",
        "Subtotal           $98.50",
        "Tax                 $7.88",
        "Total             $106.38",
    ]


def test_quote_command_with_coupon(catalog_file: Path) -> None:
    argv = ["quote", "--catalog", str(catalog_file), "--coupon", "WELCOME10", "GLUE-50:12"]
    code, output = run(*argv)
    assert code == 0
    assert output.splitlines() == [
        "GLUE-50 x12       $59.88     -$2.99",
        "Subtotal          $56.89",
        "Coupon            -$5.69",
        "Tax                $4.10",
        "Total             $55.30",
    ]


@pytest.mark.parametrize("line", ["GLUE-50", "GLUE-50:two", "GLUE-50:0"])
def test_bad_order_line(catalog_file: Path, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run("quote", "--catalog", str(catalog_file), line)
    assert code == 1
    assert output == ""
    assert capsys.readouterr().err.startswith("shop: ")


def test_missing_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("quote", "--catalog", str(tmp_path / "none.json"), "GLUE-50:1")
    assert code == 1
    assert "none.json" in capsys.readouterr().err
