"""test_app_export's PyTorch side: load what `mlcp export` wrote with torch.load, build
python/mlcp_torch.py's module from it (strict load_state_dict), run its forward on mlcp's input
and compare with mlcp's logits; then save the loaded state_dict back for a bitwise check.

    check_export.py EXPORT.pt SAMPLE.pt ROUNDTRIP.pt [--heads H]
Exit 0 when the logits agree within float tolerance; 1, with the largest difference, otherwise.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import mlcp_torch  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("exported")
parser.add_argument("sample")
parser.add_argument("roundtrip")
parser.add_argument("--heads", type=int, default=None)
args = parser.parse_args()

state = torch.load(args.exported)
sample = torch.load(args.sample)
model = mlcp_torch.from_state_dict(state, heads=args.heads)
model.load_state_dict(state, strict=True)
model.eval()
with torch.no_grad():
    logits = model(sample["input"])
expected = sample["logits"]
if logits.shape != expected.shape:
    print(f"{model.kind}: PyTorch logits {tuple(logits.shape)}, mlcp {tuple(expected.shape)}")
    sys.exit(1)
diff = (logits - expected).abs().max().item()
scale = expected.abs().max().item()
print(f"{model.kind}: {len(state)} tensors, logits {tuple(logits.shape)}, "
      f"max |PyTorch - mlcp| = {diff:.3g} (max |logit| {scale:.3g})")
if not torch.allclose(logits, expected, rtol=1e-4, atol=1e-5):
    sys.exit(1)
torch.save(state, args.roundtrip)
