"""The one template module: golden strings, segments token by token, the NLL link, bad templates.

Golden strings are written by hand from each format's definition: Robin = LMFlow's NLL prompt
`###Human: {input}###Assistant:` with the reply right after; chatml and llama-3 = the Hugging Face chat
templates of those families (SmolLM2's tokenizer_config chat template is chatml).
"""

from __future__ import annotations

import pytest

from lmbench.engine.templates import (
    ROBIN_PROMPT,
    Segment,
    TemplateError,
    conversation_segments,
    encode_segments,
    format_prompt,
    text2text_segments,
)

CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Is the heart a muscle?"},
                {"role": "assistant", "content": "Yes, it is."}]
CHATML_JINJA = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
                "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
F, T = False, True

GOLDEN = {
    "robin": [Segment("Be brief.", F), Segment("###Human: Hi###Assistant:", F), Segment("Hello!", T),
              Segment("###Human: Is the heart a muscle?###Assistant:", F), Segment("Yes, it is.", T)],
    "chatml": [Segment("<|im_start|>system\nBe brief.<|im_end|>\n", F), Segment("<|im_start|>user\nHi<|im_end|>\n", F),
               Segment("<|im_start|>assistant\n", F), Segment("Hello!<|im_end|>", T), Segment("\n", F),
               Segment("<|im_start|>user\nIs the heart a muscle?<|im_end|>\n", F), Segment("<|im_start|>assistant\n", F),
               Segment("Yes, it is.<|im_end|>", T), Segment("\n", F)],
    "llama3": [Segment("<|begin_of_text|>", F),
               Segment("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>", F),
               Segment("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", F),
               Segment("<|start_header_id|>assistant<|end_header_id|>\n\n", F), Segment("Hello!<|eot_id|>", T),
               Segment("<|start_header_id|>user<|end_header_id|>\n\nIs the heart a muscle?<|eot_id|>", F),
               Segment("<|start_header_id|>assistant<|end_header_id|>\n\n", F), Segment("Yes, it is.<|eot_id|>", T)],
    "hh": [Segment("Be brief.", F), Segment("\n\nHuman: Hi", F), Segment("\n\nAssistant:", F), Segment(" Hello!", T),
           Segment("\n\nHuman: Is the heart a muscle?", F), Segment("\n\nAssistant:", F), Segment(" Yes, it is.", T)],
    "plain": [Segment("Be brief.", F), Segment("Hi", F), Segment("Hello!", T), Segment("Is the heart a muscle?", F),
              Segment("Yes, it is.", T)],
}
CHATML_TEXT = ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
               "Hello!<|im_end|>\n<|im_start|>user\nIs the heart a muscle?<|im_end|>\n<|im_start|>assistant\n"
               "Yes, it is.<|im_end|>\n")


@pytest.mark.parametrize("template", sorted(GOLDEN))
def test_golden_segments(template):
    assert conversation_segments(CONVERSATION, template) == GOLDEN[template]


def test_golden_strings_and_generation_prompts():
    assert "".join(s.text for s in GOLDEN["chatml"]) == CHATML_TEXT
    question = CONVERSATION[:4]
    assert format_prompt(None, question, "robin") == "Be brief.###Human: Hi###Assistant:Hello!" \
                                                     "###Human: Is the heart a muscle?###Assistant:"
    assert format_prompt(None, question, "chatml") == CHATML_TEXT[: CHATML_TEXT.index("Yes")]
    assert format_prompt(None, "Hi", "llama3") == ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi"
                                                   "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    assert format_prompt(None, "as is\n", "plain") == "as is\n"
    assert format_prompt(None, "q", "<|user|>{input}<|assistant|>") == "<|user|>q<|assistant|>"


def test_text2text_is_the_nll_benchmark_rule():
    assert text2text_segments("What pumps blood?", "The heart.", "robin") == [
        Segment(ROBIN_PROMPT.format(input="What pumps blood?"), F), Segment("The heart.", T)]
    assert text2text_segments("q {x}", "a", "Q: {input} A:") == [Segment("Q: q {x} A:", F), Segment("a", T)]


def _tokens_by_hand(tokenizer, segments):
    ids, mask = [], []
    for s in segments:
        piece = tokenizer(s.text, add_special_tokens=False)["input_ids"]
        ids += piece
        mask += [s.trained] * len(piece)
    return ids, mask


def _check_token_by_token(tokenizer, segments):
    """encode_segments = each segment alone, concatenated; trained tokens decode to the trained texts."""
    ids, mask = encode_segments(tokenizer, segments)
    assert (ids, mask) == _tokens_by_hand(tokenizer, segments)
    assert len(ids) == len(mask) and any(mask) and not all(mask)
    trained_text = tokenizer.decode([i for i, m in zip(ids, mask) if m])
    assert trained_text == "".join(s.text for s in segments if s.trained)
    return ids, mask


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_llama):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llama)


@pytest.mark.parametrize("template", ["robin", "chatml", "llama3", "hh", "plain", "Q: {input}\nA:"])
def test_every_template_token_by_token_on_the_tiny_tokenizer(tiny_tokenizer, template):
    segments = conversation_segments(CONVERSATION, template, tiny_tokenizer)
    _check_token_by_token(tiny_tokenizer, segments)
    ids, mask = encode_segments(tiny_tokenizer, segments, skip_first=True)
    assert mask[0] is False and ids == encode_segments(tiny_tokenizer, segments)[0]


def test_tokenizer_template_is_split_by_progressive_rendering(tiny_tokenizer):
    tiny_tokenizer.chat_template = CHATML_JINJA
    segments = conversation_segments(CONVERSATION, "tokenizer", tiny_tokenizer)
    assert [s.text for s in segments if s.trained] == ["Hello!<|im_end|>", "Yes, it is.<|im_end|>"]
    assert "".join(s.text for s in segments) == CHATML_TEXT
    _check_token_by_token(tiny_tokenizer, segments)
    prompt = conversation_segments(CONVERSATION[:4], "tokenizer", tiny_tokenizer, generation_prompt=True)
    assert "".join(s.text for s in prompt) == format_prompt(tiny_tokenizer, CONVERSATION[:4], "chat")
    assert prompt[-2:] == [Segment("\n", F), Segment("<|im_start|>user\nIs the heart a muscle?<|im_end|>\n<|im_start|>assistant\n", F)]


def test_template_that_is_not_prefix_stable_is_refused(tiny_tokenizer):
    # Renders a marker after the LAST message only, so a longer conversation does not extend a shorter one.
    tiny_tokenizer.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}"
                                    "{% if loop.last %}<|end|>{% endif %}{% endfor %}")
    with pytest.raises(TemplateError, match="not prefix-stable"):
        conversation_segments(CONVERSATION, "tokenizer", tiny_tokenizer)
    assert format_prompt(tiny_tokenizer, "Hi", "chat") == "<|user|>Hi<|end|>", "generation needs no cut"


def test_chat_template_that_raises_is_a_one_line_error(tiny_tokenizer):
    tiny_tokenizer.chat_template = ("{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must "
                                    "start with the user') }}{% endif %}{% for m in messages %}{{ m['content'] }}"
                                    "{% endfor %}")
    assert format_prompt(tiny_tokenizer, "Hi", "chat") == "Hi"
    with pytest.raises(TemplateError, match=r"refused 1 message\(s\) \(TemplateError: Conversations must start"):
        conversation_segments([{"role": "assistant", "content": "x"}], "tokenizer", tiny_tokenizer)


def test_bad_templates_and_conversations(tiny_tokenizer):
    tiny_tokenizer.chat_template = None
    with pytest.raises(TemplateError, match="no chat template.*'robin'"):
        conversation_segments(CONVERSATION, "tokenizer", tiny_tokenizer)
    with pytest.raises(TemplateError, match="unknown prompt template 'alpaca'"):
        conversation_segments(CONVERSATION, "alpaca")
    with pytest.raises(TemplateError, match="role 'tool'"):
        conversation_segments([{"role": "tool", "content": "x"}], "robin")
    with pytest.raises(TemplateError, match="role 'system'"):
        conversation_segments(CONVERSATION[1:] + CONVERSATION[:1], "chatml")
    with pytest.raises(TemplateError, match="last message must be the user"):
        format_prompt(None, CONVERSATION, "robin")


def test_nll_benchmark_scores_exactly_the_trained_tokens(tiny_llama):
    """The NLL engine's scored mask is encode_segments' trained mask (what SFT label masks use), plus the
    prefix token it puts in front when the first token is scored."""
    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.engine.nll import TextScorer
    from lmbench.engine.requests import NllRequest
    from lmbench.models.loader import load_model

    lm = load_model(str(tiny_llama))
    scorer = TextScorer(LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False))
    for template in ("robin", "chatml", "llama3"):
        segments = conversation_segments(CONVERSATION, template)
        request = NllRequest(tuple((s.text, s.trained) for s in segments))
        tokens, scored, n_bytes = scorer._tokens(request)
        assert (tokens, scored) == encode_segments(lm.tokenizer, segments)
        assert n_bytes == len("".join(s.text for s in segments if s.trained).encode())
    text_only = NllRequest((("The heart pumps blood.", True),), skip_first=True)
    tokens, scored, _ = scorer._tokens(text_only)
    assert (tokens, scored) == encode_segments(lm.tokenizer, [Segment("The heart pumps blood.", T)], skip_first=True)


@pytest.mark.slow
def test_smollm2_chat_template_is_chatml_token_by_token(smollm2_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    own = conversation_segments(CONVERSATION, "tokenizer", tokenizer)
    assert "".join(s.text for s in own) == CHATML_TEXT == tokenizer.apply_chat_template(CONVERSATION, tokenize=False)
    ids, mask = _check_token_by_token(tokenizer, own)
    # chatml markers are special tokens here: cutting into segments changes no token, and both splits agree.
    assert ids == tokenizer(CHATML_TEXT, add_special_tokens=False)["input_ids"]
    assert (ids, mask) == encode_segments(tokenizer, conversation_segments(CONVERSATION, "chatml"))
    assert [tokenizer.decode([i]) for i, m in zip(ids, mask) if m][-1] == "<|im_end|>"
    # Without a system turn SmolLM2 inserts its default one; the split still holds.
    no_system = conversation_segments(CONVERSATION[1:], "tokenizer", tokenizer)
    assert no_system[0].text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert [s.text for s in no_system if s.trained] == ["Hello!<|im_end|>", "Yes, it is.<|im_end|>"]
    for template in ("robin", "llama3", "hh", "plain"):
        _check_token_by_token(tokenizer, conversation_segments(CONVERSATION, template))


def test_nll_prompt_takes_template_names(tmp_path):
    import json

    from lmbench.tasks.prepare import prepare_tasks

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"type": "conversation", "instances": [
        {"system": "Be brief.", "messages": CONVERSATION[1:]}]}))
    for template in ("robin", "chatml", "llama3", "Q: {input}\nA:"):
        prepared, _ = prepare_tasks(f"nll:{path}", shots=None, limit=None, data_dir=None, nll_prompt=template)
        expected = conversation_segments(CONVERSATION, template)
        assert prepared[0].data.docs[0].segments == tuple((s.text, s.trained) for s in expected)
    default, _ = prepare_tasks(f"nll:{path}", shots=None, limit=None, data_dir=None)
    assert default[0].data.docs[0].segments == tuple((s.text, s.trained) for s in GOLDEN["robin"])
    for bad, match in (("tokenizer", "needs the model's tokenizer"), ("alpaca", "no {input} placeholder")):
        with pytest.raises(TemplateError, match=match):
            prepare_tasks(f"nll:{path}", shots=None, limit=None, data_dir=None, nll_prompt=bad)


def test_hh_rlhf_task_prompts_are_the_hh_templates_generation_prompts(shared_data):
    """Every well-formed HH-RLHF test dialogue: the hh_rlhf task's prompt (the raw text up to the last
    "\n\nAssistant:") is the hh template's generation prompt of the turns before the final reply."""
    from lmbench.data.convert import parse_hh_dialogue
    from lmbench.data.readers import read_jsonl
    from lmbench.tasks.hh_rlhf import split_dialogue

    for subset, expected in (("helpful-base", 2344), ("harmless-base", 2300)):
        checked = 0
        for row in read_jsonl(shared_data / f"hh-rlhf/{subset}/test.jsonl.gz"):
            messages = parse_hh_dialogue(row["chosen"])
            if messages is None:
                continue
            prompt, answer = split_dialogue(row["chosen"])
            assert format_prompt(None, messages[:-1], "hh") == prompt
            assert conversation_segments(messages, "hh")[-1] == Segment(" " + answer, T)
            checked += 1
        assert checked == expected
