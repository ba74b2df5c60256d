"""torchvision's ResNet-18 and ResNet-50 with fixed random weights (batch
norm affine parameters random, running statistics measured on random
batches), their eval outputs at stride 2 and with layer4's first block at
stride 1, and a training-mode forward with the running statistics it leaves
behind, all in double precision.
Usage: resnet_reference.py OUTDIR. Writes OUTDIR/<arch>.safetensors (the
state dict) and OUTDIR/<arch>_io.safetensors (input and outputs)."""
import sys

import torch
import torchvision

from safetensors_lite import save


def layer4_map(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def set_layer4_stride(model, stride, arch):
    block = model.layer4[0]
    (block.conv1 if arch == "resnet18" else block.conv2).stride = (stride, stride)
    block.downsample[0].stride = (stride, stride)


def main(outdir):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for arch in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, arch)()
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        with torch.no_grad():
            # Random affine parameters, then running statistics measured on
            # random batches (so eval activations keep a sane scale).
            for module in norms:
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.reset_running_stats()
                module.momentum = None
            model.train()
            for _ in range(2):
                model(torch.randn(4, 3, 64, 64))
            for module in norms:
                module.momentum = 0.1
                module.num_batches_tracked.fill_(7)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        save(state, f"{outdir}/{arch}.safetensors")

        # Outputs in double precision, so that the comparison measures the
        # implementation and not float32 rounding (≈1e-3 on a ResNet-50 map).
        model.double()
        images = torch.randn(2, 3, 64, 64, dtype=torch.float64)
        out = {"images": images}
        model.eval()
        with torch.no_grad():
            out["eval_stride2"] = layer4_map(model, images)
            set_layer4_stride(model, 1, arch)
            out["eval_stride1"] = layer4_map(model, images)
            set_layer4_stride(model, 2, arch)
            model.train()
            out["train_stride2"] = layer4_map(model, images)
        out["train_running_mean"] = model.layer4[0].bn2.running_mean.clone()
        out["train_running_var"] = model.layer4[0].bn2.running_var.clone()
        out["train_num_batches_tracked"] = model.layer4[0].bn2.num_batches_tracked.clone()
        save(out, f"{outdir}/{arch}_io.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
