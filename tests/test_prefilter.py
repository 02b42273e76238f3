"""The prefilter decides which files are parsed and which function bodies are walked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depvet.analysis.prefilter import Prefilter, _AutomatonIndex, _SubstringIndex


@pytest.fixture(scope="module")
def prefilter() -> Prefilter:
    return Prefilter(tokens=("webhook.site",), context_tokens=(".aws",))


@pytest.mark.parametrize(
    "text",
    [
        "import base64\nx = base64.b64decode(s)\n",  # strong token
        "import os\nexec(code)\n",  # dynamic code
        "import subprocess, requests\n\ndef f():\n    requests.get(u)\n    subprocess.run(c)\n",  # pair
        "import subprocess\nsubprocess.run(['id'])\n",  # weak group at module level
        "from os import system\nsystem('id')\n",  # the token is the call
        "def f(x=requests.get(u)):\n    pass\n",  # a default value runs at import
        "class C(base(socket.socket())):\n    pass\n",  # so does a base expression
        "KEY = '~/.aws/credentials'\n",  # a context token at module level
        "import requests\n\ndef f():\n    requests.post(u, data=open('~/.aws/credentials'))\n",  # weak + context
        "def f():\n    return 'https://webhook.site/x'\n",  # a detector's own token
        "from builtins import exec as run\n\ndef f(c):\n    run(c)\n",  # exec through builtins
        "import builtins as b\n\ndef f(c):\n    b.exec(c)\n",
        "import builtins\n\ndef f(c):\n    getattr(builtins, 'exec')(c)\n",
    ],
)
def test_files_worth_parsing(prefilter: Prefilter, text: str) -> None:
    assert prefilter.screen(text).wants


@pytest.mark.parametrize(
    "text",
    [
        "import json\n\ndef load(p):\n    return json.loads(p)\n",
        "model.eval()\nretrieval(x)\nast.literal_eval(s)\n",  # eval( inside other words
        "import subprocess\n\ndef run(cmd):\n    return subprocess.run(cmd)\n",  # weak, in a function
        "import requests\n",  # an import is not a use
        "class Connector(aiohttp.TCPConnector):\n    pass\n",  # a base class is not a call
        "def test_httpx_read_all():\n    pass\n",  # nor is a name being defined
        "def f(s: socket.socket) -> None:\n    pass\n",  # nor an annotation
        "Factory = Callable[[Info], socket.socket]\n",
        '"""\nAsync client wrapping botocore with aiohttp/httpx.\n"""\n',  # docstring prose
        # A lexer's word lists and re.compile next to a mention of builtins run nothing.
        "builtins = ('abs', 'all')\nkeywords = ('exec', 'eval')\npattern = re.compile('x')\n",
    ],
)
def test_files_not_worth_parsing(prefilter: Prefilter, text: str) -> None:
    assert not prefilter.screen(text).wants


def test_exec_inside_a_longer_name_is_no_hot_line(prefilter: Prefilter) -> None:
    text = "executor = pool()\nx = retrieval(q)\n_compile_and_eval(s)\nexec(code)\nf = eval\nm.exec(c)\n"
    assert prefilter.screen(text).hot_lines() == frozenset({4, 5, 6})


def test_hot_lines_are_the_lines_with_tokens(prefilter: Prefilter) -> None:
    text = "a = 1\nimport socket\nb = 2\n\ndef f():\n    return marshal.loads(x)\n"
    assert prefilter.screen(text).hot_lines() == frozenset({2, 6})


def test_strong_tokens_are_told_apart_from_weak_ones(prefilter: Prefilter) -> None:
    assert prefilter.screen("x = zlib.decompress(b)\n").strong
    assert not prefilter.screen("import subprocess\nsubprocess.run(['id'])\n").strong


_ALPHABET = "abcdeimoprstuxz_.()[]'\" \n64é€\U0001d518"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=300))
def test_the_automaton_finds_exactly_what_substring_search_finds(text: str) -> None:
    tokens = ("exec", "eval", "b64decode", "import ", "socket", "ec", "c(", "a", "sub")
    fast = sorted(_AutomatonIndex(tokens).find_all(text))
    slow = sorted(_SubstringIndex(tokens).find_all(text))
    assert fast == slow
    if text.isascii():  # the bytes form of the same search, offsets and all
        assert sorted(_AutomatonIndex(tokens).find_all_ascii(text.encode())) == slow
        assert sorted(_SubstringIndex(tokens).find_all_ascii(text.encode())) == slow
    assert (
        _AutomatonIndex(tokens).contains_any(text) == _SubstringIndex(tokens).contains_any(text) == bool(slow)
    )


def test_strong_lines_only_keeps_line_numbers(prefilter: Prefilter) -> None:
    text = "a = 1\nimport socket\nx = base64.b64decode(s)\n\ny = 2\nexec(marshal.loads(z))"
    sparse = prefilter.screen(text).strong_lines_only().split("\n")
    assert sparse[2] == "x = base64.b64decode(s)"
    assert sparse[5] == "exec(marshal.loads(z))"
    assert [line for i, line in enumerate(sparse) if i not in (2, 5)] == ["", "", "", ""]


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("    result = exec(code)", True),
        ("    model.eval()", False),  # a method, not the builtin
        ("    fn = torch.compile(fn)", False),
        ("    run = eval", True),  # the builtin itself, not called here
        ("    requests.get(url)", True),  # one weak token is enough for a changed line
        ("    path = '~/.aws/credentials'", True),  # so is a context token
        ("    return self.evalf(n)", False),
        ("    def _eval_is_zero(self):", False),
        ('    """Retrieval of the values."""', False),
        ("import pkg.formats  # noqa", False),  # an import alone is a hint, not a token
    ],
)
def test_mentions_tells_whether_changed_lines_could_add_anything(
    prefilter: Prefilter, text: str, mentioned: bool
) -> None:
    assert prefilter.mentions(text) is mentioned


def test_weak_lines_hold_only_weak_tokens(prefilter: Prefilter) -> None:
    text = "'''Uses urllib3 and socket.'''\nx = base64.b64decode(urllib3)\nimport json\nexec(x)\n"
    assert prefilter.screen(text).hot_lines() == frozenset({1, 2, 4})
    assert prefilter.screen(text).weak_lines() == frozenset({1})
