"""The Exact Online client. It imports only `exact_tui.domain`, httpx and authlib.

- `http`: `ExactClient`, one per connection (paging, pacing, bearer token, request log);
- `odata`: the one filter builder and response decoding;
- `errors`: every failure as one typed outcome;
- `ratelimit`: the rate-limit headers, pacing and the error budget (`BudgetRecorder`);
- `oauth`: authorize URL, code exchange and refresh through authlib, and what refusals mean.
"""
