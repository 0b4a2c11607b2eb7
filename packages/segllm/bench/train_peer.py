"""PyTorch CPU peer for `npm run bench -w @segllm/core -- --train`: the same matmul-heavy training step as
bench/train.ts (a pre-norm transformer block, B x T tokens of width D, MLP 4D, GELU, mean-square loss,
backward, AdamW), timed the same way. Prints one JSON line. Usage: python3 train_peer.py B T D steps threads"""
import json
import sys
import time

import torch

B, T, D, steps, threads = (int(x) for x in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(0)


class Block(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(d)
        self.attn = torch.nn.MultiheadAttention(d, 8, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, 4 * d)
        self.fc2 = torch.nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(x))))


m = Block(D)
opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.0)
x = torch.randn(B, T, D)
y = torch.randn(B, T, D)


def step():
    loss = (m(x) - y).pow(2).mean()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = (time.perf_counter() - t0) / steps
print(json.dumps({"peer": "pytorch-cpu", "torch": torch.__version__, "threads": threads, "stepMs": dt * 1000}))
