"""Properties of the GetConnector engine, without HTTP."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from afas.sandbox.get_connectors import GET_CONNECTORS
from afas.sandbox.getconnector_engine import QueryError, run_query

TRANSACTIONS = GET_CONNECTORS["SBQ_Transactie"]
CREDITORS = GET_CONNECTORS["SBQ_Crediteuren"]


def everything(spec, **params: str) -> list[dict]:
    return run_query(spec, {"skip": "-1", "take": "-1", **params})["rows"]


@given(skip=st.integers(0, 200), take=st.integers(1, 200))
def test_pages_are_slices_of_the_ordered_whole(skip: int, take: int) -> None:
    whole = everything(TRANSACTIONS, orderbyfieldids="-EntryNo")
    page = run_query(
        TRANSACTIONS, {"skip": str(skip), "take": str(take), "orderbyfieldids": "-EntryNo"}
    )
    assert page["rows"] == whole[skip : skip + take]
    assert (page["skip"], page["take"]) == (skip, take)


@given(skip=st.integers(-10, 10), take=st.integers(-10, 10))
def test_only_minus_one_pair_or_non_negative_skip_with_positive_take_is_valid(
    skip: int, take: int
) -> None:
    valid = (skip, take) == (-1, -1) or (skip >= 0 and take >= 1)
    try:
        run_query(CREDITORS, {"skip": str(skip), "take": str(take)})
    except QueryError as exc:
        assert not valid and exc.key == "unexpected"
    else:
        assert valid


@given(text=st.text(alphabet="abcdeiklnorstuBV. ", min_size=1, max_size=4))
def test_contains_and_does_not_contain_partition_the_rows(text: str) -> None:
    params = {"filterfieldids": "Name", "filtervalues": text}
    found = everything(CREDITORS, operatortypes="6", **params)
    others = everything(CREDITORS, operatortypes="11", **params)
    assert all(text.casefold() in r["Name"].casefold() for r in found)
    assert len(found) + len(others) == len(CREDITORS.rows)
