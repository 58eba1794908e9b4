"""LMFlow dataset files (lmbench.data.lmflow) and the converters (lmbench.data.convert)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmbench.data.convert import (
    MEDMCQA_TEMPLATE,
    PUBMEDQA_TEMPLATE,
    from_hf_rows,
    hh_rlhf_conversations,
    hh_rlhf_pairs,
    medmcqa_explanations,
    parse_hh_dialogue,
    pubmedqa_text2text,
    save_lmflow,
)
from lmbench.data.lmflow import DATASET_TYPES, LMFlowDataset, load_lmflow, validate_instance
from lmbench.errors import DataError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def turns(*contents: str) -> list[dict]:
    return [{"role": ("user", "assistant")[i % 2], "content": c} for i, c in enumerate(contents)]


SAMPLES = {
    "text_only": [{"text": "one"}, {"text": "two"}],
    "text2text": [{"input": "2+2?", "output": "4"}, {"input": "3+3?", "output": "6"}],
    "conversation": [
        {"messages": [{"role": "system", "content": "Be brief."}] + turns("hi", "hello")},
        {"conversation_id": 7, "system": "S", "tools": ["calc"], "messages": turns("a", "b", "c", "d")},
    ],
    "paired_conversation": [
        {"chosen": {"messages": turns("q", "good")}, "rejected": {"messages": turns("q", "bad")}},
        {
            "system": "S",
            "chosen": {"messages": turns("q", "a", "q2", "good")},
            "rejected": turns("q", "a", "q2", "bad"),
        },
    ],
    "paired_text2text": [{"prompt": "p", "chosen": "good", "rejected": "bad"}],
}


def write_json(path: Path, kind: str, instances: list) -> Path:
    path.write_text(json.dumps({"type": kind, "instances": instances}), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list, header: str | None = None) -> Path:
    lines = ([json.dumps({"type": header})] if header else []) + [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", DATASET_TYPES)
def test_each_type_loads_from_json_and_jsonl(tmp_path: Path, kind: str) -> None:
    from_json = load_lmflow(write_json(tmp_path / "d.json", kind, SAMPLES[kind]))
    inferred = load_lmflow(write_jsonl(tmp_path / "inferred.jsonl", SAMPLES[kind]))
    headed = load_lmflow(write_jsonl(tmp_path / "headed.jsonl", SAMPLES[kind], header=kind))
    assert from_json.type == inferred.type == headed.type == kind
    assert from_json.instances == inferred.instances == headed.instances
    assert len(from_json) == len(SAMPLES[kind]) and from_json.files == [tmp_path / "d.json"]


def test_conversation_normalisation(tmp_path: Path) -> None:
    data = load_lmflow(write_json(tmp_path / "c.json", "conversation", SAMPLES["conversation"]))
    first, second = data.instances
    assert first == {"messages": turns("hi", "hello"), "system": "Be brief."}
    assert second["system"] == "S" and second["tools"] == ["calc"] and second["conversation_id"] == 7
    pairs = load_lmflow(write_json(tmp_path / "p.json", "paired_conversation", SAMPLES["paired_conversation"]))
    assert pairs.instances[1]["rejected"] == {"messages": turns("q", "a", "q2", "bad")}
    assert pairs.instances[1]["system"] == "S" and pairs.instances[0]["system"] == ""
    lmflow_style = {
        "chosen": {"system": "S", "messages": turns("q", "g")},
        "rejected": {"system": "S", "messages": turns("q", "b")},
    }
    assert validate_instance("paired_conversation", lmflow_style, "x")["system"] == "S"


def test_directory_of_same_type_loads_as_one(tmp_path: Path) -> None:
    write_json(tmp_path / "b.json", "text2text", SAMPLES["text2text"])
    write_jsonl(tmp_path / "a.jsonl", [{"input": "x", "output": "y"}])
    (tmp_path / "notes.txt").write_text("ignored")
    data = load_lmflow(tmp_path)
    assert data.type == "text2text" and len(data) == 3
    assert data.files == [tmp_path / "a.jsonl", tmp_path / "b.json"]
    assert data.instances[0] == {"input": "x", "output": "y"}


def conversation_with(messages: list) -> dict:
    return {"type": "conversation", "instances": [{"messages": turns("ok", "fine")}, {"messages": messages}]}


BAD_JSON = {
    "wrong type": ({"type": "chat", "instances": [{"text": "a"}]}, ["unknown dataset type 'chat'", "text_only"]),
    "missing key": (
        {"type": "text2text", "instances": [{"input": "a", "output": "b"}, {"input": "a"}]},
        ["instance 1", 'missing "output"'],
    ),
    "empty instances": ({"type": "text_only", "instances": []}, ["has no instances"]),
    "user turn last": (
        conversation_with(turns("a", "b", "c")),
        ["instance 1", "ends with a user turn", "assistant's reply"],
    ),
    "non-string field": ({"type": "text_only", "instances": [{"text": 3}]}, ["instance 0", '"text" is int']),
    "empty messages": (conversation_with([]), ["instance 1", "empty list"]),
    "bad role": (conversation_with([{"role": "bot", "content": "x"}]), ["instance 1", "messages[0].role is 'bot'"]),
    "two user turns": (
        conversation_with(turns("a") + turns("b", "c")),
        ["instance 1", "messages[0] and messages[1] are both user"],
    ),
    "two assistant turns": (
        conversation_with(turns("a", "b") + [{"role": "assistant", "content": "c"}]),
        ["instance 1", "messages[1] and messages[2] are both assistant"],
    ),
    "assistant first": (
        conversation_with([{"role": "assistant", "content": "x"}]),
        ["instance 1", "starts with the user"],
    ),
    "content not string": (conversation_with([{"role": "user", "content": ["x"]}]), ["instance 1", "content is list"]),
    "pair prompts differ": (
        {
            "type": "paired_conversation",
            "instances": [{"chosen": {"messages": turns("q", "g")}, "rejected": {"messages": turns("other", "b")}}],
        },
        ["instance 0", "differ at messages[0]"],
    ),
    "pair missing rejected": (
        {"type": "paired_conversation", "instances": [{"chosen": {"messages": turns("q", "g")}}]},
        ["instance 0", 'missing "rejected"'],
    ),
    "list not object": ([{"text": "a"}], ['{"type": ..., "instances": [...]}']),
    "no type": ({"instances": [{"text": "a"}]}, ['{"type": ..., "instances": [...]}']),
    "instances not list": ({"type": "text_only", "instances": {"text": "a"}}, ['"instances" is dict']),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_is_one_line_data_error(tmp_path: Path, case: str) -> None:
    doc, expected = BAD_JSON[case]
    path = tmp_path / "bad_file.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_lmflow(path)
    message = str(info.value)
    assert "bad_file.json" in message and "\n" not in message, message
    for part in expected:
        assert part in message, message


def test_bad_jsonl(tmp_path: Path) -> None:
    cases = {
        "header_wrong.jsonl": ('{"type": "chat"}\n{"text": "a"}\n', ["unknown dataset type 'chat'"]),
        "missing.jsonl": (
            '{"type": "text2text"}\n{"input": "a", "output": "b"}\n{"input": "a"}\n',
            ["instance 1 (line 3)", 'missing "output"'],
        ),
        "header_only.jsonl": ('{"type": "text_only"}\n', ["has no instances"]),
        "empty.jsonl": ("\n", ["has no instances"]),
        "unknown_keys.jsonl": ('{"question": "a"}\n', ["instance 0 (line 1)", "cannot tell the dataset type"]),
        "user_last.jsonl": (json.dumps({"messages": turns("a")}) + "\n", ["instance 0", "ends with a user turn"]),
        "broken.jsonl": ('{"text": "a"}\n{"text": \n', ["instance 1 (line 2)", "not valid JSON"]),
    }
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as info:
            load_lmflow(tmp_path / name)
        message = str(info.value)
        assert name in message and "\n" not in message, message
        assert all(part in message for part in expected), message


def test_non_utf8_names_file_and_byte_offset(tmp_path: Path) -> None:
    latin1 = b'{"type": "text_only", "instances": [{"text": "caf\xe9"}]}'  # the bad byte is at offset 49
    cases = {
        "latin1.json": (latin1, 49),
        "bom.json": (b"\xef\xbb\xbf" + latin1, 52),
        "latin1.jsonl": (b'{"text": "ok"}\n{"text": "caf\xe9"}\n', 28),
    }
    for name, (raw, offset) in cases.items():
        path = tmp_path / name
        path.write_bytes(raw)
        with pytest.raises(DataError, match=rf"{name}: not UTF-8 text \(.* at byte {offset}\); re-save") as info:
            load_lmflow(path)
        assert "\n" not in str(info.value)
    (tmp_path / "bom_ok.json").write_bytes(b"\xef\xbb\xbf" + latin1.replace(b"\xe9", b"e"))
    assert load_lmflow(tmp_path / "bom_ok.json").instances == [{"text": "cafe"}]


def test_directory_with_mixed_types_names_both_files(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", "text_only", SAMPLES["text_only"])
    write_jsonl(tmp_path / "b.jsonl", SAMPLES["text2text"])
    with pytest.raises(DataError) as info:
        load_lmflow(tmp_path)
    message = str(info.value)
    assert "a.json is type 'text_only'" in message and "b.jsonl is type 'text2text'" in message and "\n" not in message


def test_missing_paths_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_lmflow(tmp_path / "nope.json")
    with pytest.raises(DataError, match="has no .json or .jsonl files"):
        load_lmflow(tmp_path)
    with pytest.raises(DataError, match="unknown dataset type"):
        validate_instance("chat", {"text": "a"}, "here")


def test_parse_hh_dialogue() -> None:
    text = (
        "\n\nHuman: How do I boil an egg?\n\nAssistant:  Put it in boiling water. "
        "\n\nHuman: How long?\n\nAssistant: About 9 minutes."
    )
    assert parse_hh_dialogue(text) == [
        {"role": "user", "content": "How do I boil an egg?"},
        {"role": "assistant", "content": "Put it in boiling water."},
        {"role": "user", "content": "How long?"},
        {"role": "assistant", "content": "About 9 minutes."},
    ]
    assert parse_hh_dialogue("\n\nHuman: hi\n\nAssistant: yes.  Human:  inline stays") == turns(
        "hi", "yes.  Human:  inline stays"
    )
    assert parse_hh_dialogue("\n\nHuman: hi") is None  # ends with the user
    assert parse_hh_dialogue("\n\nHuman: hi\n\nAssistant: \n\nHuman: x\n\nAssistant: y") is None  # empty turn
    assert parse_hh_dialogue("\n\nHuman: hi\n\nAssistant: a\n\nAssistant: b") is None  # two assistant turns
    assert parse_hh_dialogue("preamble\n\nHuman: hi\n\nAssistant: a") is None


def test_from_hf_rows() -> None:
    rows = [{"question": "q1", "answer": "a1", "extra": 1}, {"question": "q2", "answer": "a2", "extra": 2}]
    data = from_hf_rows(rows, "text2text", {"question": "input", "answer": "output"})
    assert data.instances == [{"input": "q1", "output": "a1"}, {"input": "q2", "output": "a2"}]
    chats = from_hf_rows(
        [{"chosen": turns("q", "g"), "rejected": turns("q", "b")}],
        "paired_conversation",
        {"chosen": "chosen", "rejected": "rejected"},
    )
    assert chats.instances[0]["chosen"] == {"messages": turns("q", "g")}
    with pytest.raises(DataError, match=r"^hf: instance 1: no column 'answer'"):
        from_hf_rows([rows[0], {"question": "q"}], "text2text", {"question": "input", "answer": "output"}, source="hf")
    with pytest.raises(DataError, match=r"rows: instance 0: \"output\" is int"):
        from_hf_rows([{"q": "a", "n": 3}], "text2text", {"q": "input", "n": "output"})


def test_save_load_round_trip(tmp_path: Path) -> None:
    for kind in DATASET_TYPES:
        original = load_lmflow(write_json(tmp_path / f"{kind}.json", kind, SAMPLES[kind]))
        for suffix in (".json", ".jsonl"):
            again = load_lmflow(save_lmflow(original, tmp_path / "out" / f"{kind}{suffix}"))
            assert (again.type, again.instances) == (original.type, original.instances)


# -- the real files in ../shared/data ---------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark data not found at {SHARED_DATA} (the ../shared/data folder beside the repo)")
    return SHARED_DATA


@pytest.mark.parametrize(
    ("part", "rows", "chosen", "rejected", "pairs"),
    [
        ("helpful-base", 2354, 2344, 2337, 2335),
        ("harmless-base", 2312, 2300, 2307, 2299),
    ],
)
def test_hh_rlhf_real(data: Path, tmp_path: Path, part: str, rows: int, chosen: int, rejected: int, pairs: int) -> None:
    path = data / "hh-rlhf" / part / "test.jsonl.gz"
    conv = hh_rlhf_conversations(path)
    assert (len(conv), conv.skipped) == (chosen, rows - chosen)
    worse = hh_rlhf_conversations(path, field="rejected")
    assert (len(worse), worse.skipped) == (rejected, rows - rejected)
    paired = hh_rlhf_pairs(path)
    assert (len(paired), paired.skipped) == (pairs, rows - pairs)
    first = conv.instances[0]
    assert first["conversation_id"] == 0 and first["system"] == "" and first["messages"][-1]["role"] == "assistant"
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"] * (len(first["messages"]) // 2)
    pair = paired.instances[0]
    assert pair["chosen"]["messages"][:-1] == pair["rejected"]["messages"][:-1]
    assert len(hh_rlhf_pairs(path, limit=5)) == 5
    again = load_lmflow(save_lmflow(paired, tmp_path / "pairs.json"))
    assert again.type == "paired_conversation" and again.instances == paired.instances


def test_hh_rlhf_known_dialogue(data: Path) -> None:
    first = hh_rlhf_conversations(data / "hh-rlhf" / "helpful-base" / "test.jsonl.gz", limit=1).instances[0]
    assert first["messages"] == [
        {"role": "user", "content": "Do you know why turkeys became the official food of thanksgiving?"},
        {
            "role": "assistant",
            "content": "To be honest, I don’t know anything about that. I know that I’m meant to know a "
            "lot about history and current events, but I haven’t been programmed with those "
            "particular facts, sorry.",
        },
    ]


def test_pubmedqa_real(data: Path, tmp_path: Path) -> None:
    path = data / "pubmedqa" / "ori_pqal.json"
    everything = pubmedqa_text2text(path)
    assert len(everything) == 1000 and everything.type == "text2text"
    test_ids = list(json.loads((data / "pubmedqa" / "test_ground_truth.json").read_text()))
    test = pubmedqa_text2text(path, test_ids)
    assert len(test) == 500 and [row["id"] for row in test.instances] == test_ids
    first = everything.instances[0]
    raw = json.loads(path.read_text())["21645374"]
    assert first["id"] == "21645374" and first["output"] == raw["LONG_ANSWER"]
    assert first["input"] == PUBMEDQA_TEMPLATE.format(question=raw["QUESTION"], context=" ".join(raw["CONTEXTS"]))
    assert (
        first["input"].startswith("Question: Do mitochondria play a role")
        and "\nContext: Programmed cell death" in first["input"]
    )
    assert load_lmflow(save_lmflow(test, tmp_path / "pubmedqa.jsonl")).instances == test.instances
    with pytest.raises(DataError, match="'123' is not in the file"):
        pubmedqa_text2text(path, ["123"])


def test_medmcqa_real(data: Path, tmp_path: Path) -> None:
    result = medmcqa_explanations(data / "medmcqa" / "dev.jsonl")
    assert (len(result), result.skipped) == (2206, 1977)
    first = result.instances[0]
    assert first["id"] == "b944ada9-d776-4c2a-9180-3ae5f393f72d" and first["output"].startswith("Ans-a. The oncotic")
    assert first["input"].startswith("Question: Which of the following is not true about glomerular capillaries")
    assert first["input"].count("\n") == MEDMCQA_TEMPLATE.count("\n") and "\nOptions:\nA. " in first["input"]
    assert len(medmcqa_explanations(data / "medmcqa" / "dev.jsonl", limit=3)) == 3
    again = load_lmflow(save_lmflow(result, tmp_path / "medmcqa.json"))
    assert isinstance(again, LMFlowDataset) and again.instances == result.instances
