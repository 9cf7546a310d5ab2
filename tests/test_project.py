"""What a person reusing or citing the project reads first: one licence, stated alike everywhere, and a citation
file with the keys Citation File Format 1.2.0 requires."""

import tomllib

import yaml
from conftest import ROOT


def test_one_licence_is_stated_alike_in_license_pyproject_citation_and_readme():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert project["license"] == {"text": "MIT"} and citation["license"] == "MIT"
    assert "MIT licence (`LICENSE`)" in (ROOT / "README.md").read_text()


def test_the_citation_file_has_what_cff_requires_and_the_packages_version():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"cff-version", "message", "title", "authors"} <= set(citation)
    assert all("name" in a or "family-names" in a for a in citation["authors"])
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert citation["version"] == version
    for ref in citation.get("references", []):
        assert {"type", "title", "authors"} <= set(ref), ref
