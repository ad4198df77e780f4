"""A local simulator of the Douyin open platform (抖店开放平台) for demos, development and tests.

Stand-alone: it imports neither Django nor the product, and the product never imports it.
See douyin_sim/README.md and docs/douyin-contract.md.
"""
