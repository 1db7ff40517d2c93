"""The relaxed JSON reader used for every request body."""

import pytest

from kaizala_sandbox.lenient_json import LenientJSONError, loads


def test_strict_json_and_case_insensitive_keys():
    body = loads('{"Message": "hi", "nested": {"Title": "t"}, "list": [{"A": 1}]}')
    assert body["message"] == "hi" and body.get("MESSAGE") == "hi" and "mEsSaGe" in body
    assert body["nested"]["title"] == "t" and body["list"][0]["a"] == 1
    assert list(body) == ["Message", "nested", "list"]  # original keys are kept


def test_python_str_of_a_dict():
    body = loads(str({"message": "it's \"quoted\"", "flag": True, "none": None, "n": -1.5e2, "xs": [1, 2]}))
    assert body == {"message": "it's \"quoted\"", "flag": True, "none": None, "n": -150.0, "xs": [1, 2]}


def test_javascript_object_literal():
    body = loads("{name:'x', welcomeMessage: \"w\\n\\u00e9\", members:['+91111',], count: 3,}")
    assert body == {"name": "x", "welcomeMessage": "w\né", "members": ["+91111"], "count": 3}


@pytest.mark.parametrize("text", ["{message: }", "{'a' 1}", "{a: 'x'", "[1, 2", "{a: nope}", "{} extra"])
def test_garbage_is_rejected(text):
    with pytest.raises(LenientJSONError):
        loads(text)
