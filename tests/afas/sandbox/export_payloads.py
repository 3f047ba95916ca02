"""The live export's five payloads (notes/export-contract.md), with the built-in
administration's values: administration 1, open period 2024/7, journal MEM, cost account
4100, VAT code H0."""

from __future__ import annotations

import base64
from typing import Any

PDF = base64.b64encode(b"%PDF-1.4\n% AFASBOT TEST\n%%EOF\n").decode("ascii")
MARKER = "AFASBOT TEST 3f9a1c"
INVOICE = "AB3f9a1c"


def relation(connector: str, name: str = MARKER, **fields: Any) -> dict[str, Any]:
    return {
        connector: {
            "Element": {
                "Fields": {"CuId": "EUR", "InPv": "A", **fields},
                "Objects": {
                    "KnOrganisation": {
                        "Element": {
                            "Fields": {
                                "PadAdr": True,
                                "AutoNum": True,
                                "MatchOga": "6",
                                "Nm": name,
                            },
                            "Objects": {
                                "KnBasicAddressAdr": {
                                    "Element": {
                                        "Fields": {
                                            "PbAd": False,
                                            "Ad": "Storkstraat",
                                            "HmNr": "105",
                                            "ZpCd": "3833LC",
                                            "CoId": "NL",
                                            "Rs": "Leusden",
                                            "ResZip": False,
                                        }
                                    }
                                }
                            },
                        }
                    }
                },
            }
        }
    }


def entry(
    creditor: str,
    *,
    invoice: str = INVOICE,
    year: int = 2024,
    period: int = 7,
    journal: str = "MEM",
    account: str = "4100",
    vat: str = "H0",
    unit: int = 1,
    amount: str = "0.01",
) -> dict[str, Any]:
    date = f"{year}-{period:02d}-01"
    return {
        "FiEntryPar": {
            "Element": {
                "Fields": {"Year": year, "Peri": period, "UnId": unit, "JoCo": journal},
                "Objects": [
                    {
                        "FiEntries": {
                            "Element": [
                                {
                                    "Fields": {
                                        "VaAs": "3",
                                        "AcNr": creditor,
                                        "EnDa": date,
                                        "BpDa": date,
                                        "InId": invoice,
                                        "Ds": MARKER,
                                        "AmCr": amount,
                                    }
                                },
                                {
                                    "Fields": {
                                        "VaAs": "1",
                                        "AcNr": account,
                                        "EnDa": date,
                                        "BpDa": date,
                                        "VaId": vat,
                                        "Ds": MARKER,
                                        "AmDe": amount,
                                    }
                                },
                            ]
                        }
                    }
                ],
            }
        }
    }


def block_invoice(creditor: str, invoice: str = INVOICE) -> dict[str, Any]:
    return {
        "FiInvoice": {
            "Element": {
                "Fields": {"UnId": "1", "VaAd": "3", "DcNr": creditor, "InId": invoice, "BlPa": "1"}
            }
        }
    }


def subject(
    creditor: str, invoice: str = INVOICE, stream: str = PDF, **link: Any
) -> dict[str, Any]:
    return {
        "KnSubject": {
            "Element": {
                "Fields": {"StId": "-5", "Ds": MARKER},
                "Objects": [
                    {
                        "KnSubjectLink": {
                            "Element": {
                                "Fields": {
                                    "SfTp": "11",
                                    "SfId": creditor,
                                    "PiUn": "1",
                                    "PiTp": "1",
                                    "PiId": invoice,
                                    **link,
                                }
                            }
                        }
                    },
                    {
                        "KnSubjectAttachment": {
                            "Element": [
                                {"Fields": {"FileName": "afasbot-test.pdf", "FileStream": stream}}
                            ]
                        }
                    },
                ],
            }
        }
    }


def block_relation(debtor: str) -> dict[str, Any]:
    return {"KnSalesRelationOrg": {"Element": {"@DbId": debtor, "Fields": {"Bl": "1"}}}}
