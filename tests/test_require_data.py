"""The demo-data guard of tests/conftest.py: skip locally, fail in CI."""
import pytest

ENV = 'MMSEG_RECO_REQUIRE_DATA'


def test_missing_data_skips_without_the_variable(require_data, monkeypatch,
                                                 tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match='no_such_file'):
        require_data(str(tmp_path / 'no_such_file'), 'demo data missing')


def test_missing_data_fails_with_the_variable(require_data, monkeypatch,
                                              tmp_path):
    monkeypatch.setenv(ENV, '1')
    with pytest.raises(pytest.fail.Exception,
                       match=f'no_such_file.*{ENV} is set'):
        require_data([str(tmp_path), str(tmp_path / 'no_such_file')],
                     'demo data missing')


def test_present_data_neither_skips_nor_fails(require_data, monkeypatch,
                                              tmp_path):
    monkeypatch.setenv(ENV, '1')
    (tmp_path / 'split.txt').write_text('a\n')
    assert require_data(tmp_path / 'split.txt', 'demo data missing') is None
