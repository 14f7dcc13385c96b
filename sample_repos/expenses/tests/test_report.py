import datetime as dt

from expenses import Expense, category_totals, monthly_report, read_expenses

MARCH = [
    Expense(dt.date(2024, 3, 1), "rent", 120000),
    Expense(dt.date(2024, 3, 2), "groceries", 8725, "market"),
    Expense(dt.date(2024, 3, 9), "groceries", 5430),
    Expense(dt.date(2024, 3, 15), "transport", 2250),
    Expense(dt.date(2024, 4, 1), "rent", 120000),
]


def test_category_totals_only_count_the_month() -> None:
    assert category_totals(MARCH, 2024, 3) == {
        "rent": 120000,
        "groceries": 14155,
        "transport": 2250,
    }
    assert category_totals(MARCH, 2024, 5) == {}


def test_refunds_reduce_a_category() -> None:
    refunded = [*MARCH, Expense(dt.date(2024, 3, 20), "transport", -2250, "refund")]
    assert "transport" in category_totals(refunded, 2024, 3)
    assert category_totals(refunded, 2024, 3)["transport"] == 0


def test_small_month_report() -> None:
    expenses = [
        Expense(dt.date(2024, 6, 3), "books", 4599),
        Expense(dt.date(2024, 6, 4), "coffee", 1250),
    ]
    assert monthly_report(expenses, 2024, 6).splitlines() == [
        "Expenses for June 2024",
        "======================",
        "books   $45.99  79%",
        "coffee  $12.50  21%",
        "total   $58.49",
    ]


def test_monthly_report() -> None:
    assert monthly_report(MARCH, 2024, 3).splitlines() == [
        "Expenses for March 2024",
        "=======================",
        "rent       $1,200.00  88%",
        "groceries    $141.55  10%",
        "transport     $22.50   2%",
        "total      $1,364.05",
    ]


def test_month_without_expenses() -> None:
    assert monthly_report(MARCH, 2023, 12) == "Expenses for December 2023\nNo expenses."


def test_report_from_bank_export() -> None:
    export = [
        "date,category,amount,note",
        "2024-02-01,Utilities,64.08,power",
        "2024-02-11,utilities,30,water",
        "2024-02-12,Dining,41.50,",
    ]
    report = monthly_report(read_expenses(export), 2024, 2)
    assert report.splitlines()[2:] == [
        "utilities   $94.08  69%",
        "dining      $41.50  31%",
        "total      $135.58",
    ]
