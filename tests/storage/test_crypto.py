from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.crypto import TokenCipher, generate_key, key_id, load_keys
from storage.errors import KeyConfigError, TokenDecryptError
from tests.storage.helpers import make_token


def _secret_forms(token) -> list[str]:
    return [
        token.reveal_data(),
        token.xml,
        base64.b64encode(token.xml.encode()).decode(),
    ]


def test_encrypt_then_decrypt_gives_the_same_token() -> None:
    cipher = TokenCipher.from_keys([generate_key()])
    token = make_token("acme")
    ciphertext, kid = cipher.encrypt(token)
    assert kid == cipher.primary_key_id
    assert cipher.decrypt(ciphertext) == token


def test_ciphertext_holds_no_form_of_the_token() -> None:
    cipher = TokenCipher.from_keys([generate_key()])
    token = make_token("acme")
    ciphertext, _ = cipher.encrypt(token)
    for form in _secret_forms(token):
        assert form not in ciphertext
        assert form.lower() not in ciphertext.lower()


def test_a_token_written_with_an_older_key_still_decrypts() -> None:
    old, new = generate_key(), generate_key()
    ciphertext, old_id = TokenCipher.from_keys([old]).encrypt(make_token("acme"))
    both = TokenCipher.from_keys([new, old])
    assert old_id == key_id(old) != both.primary_key_id == key_id(new)
    assert both.decrypt(ciphertext) == make_token("acme")
    rotated, rotated_id = both.rotate(ciphertext)
    assert rotated_id == key_id(new)
    assert TokenCipher.from_keys([new]).decrypt(rotated) == make_token("acme")


def test_key_id_is_8_hex_characters_of_the_sha256_of_the_key_bytes() -> None:
    import hashlib

    key = generate_key()
    assert key_id(key) == hashlib.sha256(base64.urlsafe_b64decode(key)).hexdigest()[:8]
    assert key not in key_id(key)


def test_tampered_ciphertext_is_a_clear_decrypt_error_without_secrets() -> None:
    cipher = TokenCipher.from_keys([generate_key()])
    token = make_token("acme")
    ciphertext, kid = cipher.encrypt(token)
    raw = bytearray(base64.urlsafe_b64decode(ciphertext))
    raw[40] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(TokenDecryptError) as raised:
        cipher.decrypt(tampered, org_key="acme", stored_key_id=kid)
    message = str(raised.value)
    assert "'acme'" in message and "altered" in message
    assert raised.value.org_key == "acme"
    for secret in [ciphertext, tampered, *_secret_forms(token)]:
        assert secret not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_wrong_key_error_names_the_key_id_that_wrote_the_token() -> None:
    writer = TokenCipher.from_keys([generate_key()])
    ciphertext, kid = writer.encrypt(make_token("acme"))
    reader = TokenCipher.from_keys([generate_key()])
    with pytest.raises(TokenDecryptError, match=f"key id {kid}"):
        reader.decrypt(ciphertext, org_key="acme", stored_key_id=kid)


def test_decrypted_text_that_is_not_a_token_is_refused() -> None:
    key = generate_key()
    ciphertext = Fernet(key.encode()).encrypt(b"not a token").decode()
    cipher = TokenCipher.from_keys([key])
    with pytest.raises(TokenDecryptError):
        cipher.decrypt(ciphertext)
    with pytest.raises(TokenDecryptError):
        cipher.rotate(ciphertext)


def test_no_keys_is_a_key_config_error_that_says_how_to_make_one() -> None:
    with pytest.raises(KeyConfigError, match="afasbot keys generate"):
        TokenCipher.from_keys([])
    with pytest.raises(KeyConfigError, match="afasbot keys generate"):
        load_keys(None, None)
    with pytest.raises(KeyConfigError, match="afasbot keys generate"):
        load_keys(" , ,", None)


@pytest.mark.parametrize(
    "bad",
    [
        "too-short",
        "x" * 44,  # right length, wrong content
        "!" + generate_key()[1:],  # a stray character the Base64 decoder would skip
        base64.urlsafe_b64encode(b"k" * 31).decode(),  # 31 bytes
        "secretsecretsecretsecretsecretsecretsecret==",
    ],
)
def test_a_malformed_key_is_refused_without_repeating_it(bad: str) -> None:
    with pytest.raises(KeyConfigError) as raised:
        load_keys(f"{generate_key()},{bad}", None)
    message = str(raised.value)
    assert "key 2 of the key setting" in message
    assert "afasbot keys generate" in message
    assert bad not in message
    with pytest.raises(KeyConfigError):
        TokenCipher.from_keys([bad])


def test_keys_from_the_setting_newest_first() -> None:
    new, old = generate_key(), generate_key()
    assert load_keys(f" {new} ,{old},", None) == [new, old]


def test_key_file_one_per_line_with_comments(tmp_path: Path) -> None:
    new, old, env_key = generate_key(), generate_key(), generate_key()
    path = tmp_path / "keys"
    path.write_text(f"# afasbot token keys, newest first\n\n{new}  # 2026-03\n{old}\n{new}\n")
    assert load_keys(None, str(path)) == [new, old]
    assert load_keys(env_key, path) == [env_key, new, old]


def test_a_malformed_key_in_the_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# keys\n{generate_key()}\nnot-a-key\n")
    with pytest.raises(KeyConfigError, match="line 3 of the key file") as raised:
        load_keys(None, str(path))
    assert "not-a-key" not in str(raised.value)


def test_an_unreadable_key_file_is_a_key_config_error(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="Cannot read the token key file"):
        load_keys(None, str(tmp_path / "missing"))


def test_the_cipher_never_shows_its_keys() -> None:
    key = generate_key()
    cipher = TokenCipher.from_keys([key])
    assert key not in repr(cipher) and key not in str(cipher)
    assert cipher.key_ids == (key_id(key),)
    with pytest.raises(TypeError):
        pickle.dumps(cipher)


def test_generated_keys_are_fresh_fernet_keys() -> None:
    first, second = generate_key(), generate_key()
    assert first != second and len(first) == 44
    Fernet(first.encode())
