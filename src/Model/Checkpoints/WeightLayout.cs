using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// How a file names and lays out the model's tensors. BitActors' own names follow bit_pytorch
/// (<c>root.weight</c>, <c>body.block1.unit01.conv1.weight</c>, <c>head_gn.weight</c>, <c>head_conv.bias</c>);
/// a layout maps each of them to the file's key and converts the array between the two layouts.
/// </summary>
public abstract partial class WeightLayout
{
    public abstract string Name { get; }

    /// <summary>The file's key for a model tensor; null when this layout cannot store it.</summary>
    public abstract string? KeyFor(string name);

    /// <summary>The file's shape for a model tensor of <paramref name="shape"/>.</summary>
    public virtual long[] StoredShape(string name, long[] shape) => shape;

    /// <summary>A stored array in the model's layout (a view where possible).</summary>
    public virtual Tensor FromStored(string name, Tensor stored) => stored;

    /// <summary>A model tensor in the file's layout (a view where possible).</summary>
    public virtual Tensor ToStored(string name, Tensor value) => value;

    /// <summary>True when a tensor of <paramref name="dims"/> dimensions is stored transposed (so it cannot be read straight into the model).</summary>
    public virtual bool Transposes(int dims) => false;

    /// <summary>The model's shape of a stored array of <paramref name="stored"/> (the inverse of <see cref="StoredShape"/>).</summary>
    public virtual long[] ModelShape(long[] stored) => stored;

    /// <summary>The stage and unit (both from 1) a file's key belongs to; null for the root, the head and unknown keys.</summary>
    public (int Stage, int Unit)? UnitOf(string key) =>
        UnitKey().Match(key) is { Success: true } m ? (int.Parse(m.Groups[1].Value) + UnitBase, int.Parse(m.Groups[2].Value) + UnitBase) : null;

    /// <summary>How this layout writes stage and unit numbers in keys: captures the stage, then the unit.</summary>
    protected abstract Regex UnitKey();

    /// <summary>1 where the layout numbers stages and units from 0 (timm), else 0.</summary>
    protected virtual int UnitBase => 0;

    /// <summary>BitActors' own names (TorchSharp's native format).</summary>
    public static readonly WeightLayout Native = new NativeLayout();

    /// <summary>timm's <c>resnetv2</c> names (<c>stem.conv.weight</c>, <c>stages.0.blocks.0.norm1.weight</c>, <c>head.fc.bias</c>).</summary>
    public static readonly WeightLayout Timm = new TimmLayout();

    /// <summary>Google's BiT checkpoints (<c>resnet/block1/unit01/a/standardized_conv2d/kernel</c>, HWIO kernels).</summary>
    public static readonly WeightLayout BitNpz = new BitNpzLayout();

    [GeneratedRegex(@"^body\.block(\d+)\.unit(\d+)\.(gn1|gn2|gn3|conv1|conv2|conv3|downsample)\.(\w+)$")]
    protected static partial Regex UnitPattern();

    [GeneratedRegex(@"^body\.block(\d+)\.unit(\d+)\.")]
    private static partial Regex NativeUnitKey();

    [GeneratedRegex(@"^stages\.(\d+)\.blocks\.(\d+)\.")]
    private static partial Regex TimmUnitKey();

    [GeneratedRegex(@"^resnet/block(\d+)/unit(\d+)/")]
    private static partial Regex NpzUnitKey();

    private sealed class NativeLayout : WeightLayout
    {
        public override string Name => "bitactors";
        public override string? KeyFor(string name) => name;
        protected override Regex UnitKey() => NativeUnitKey();
    }

    private sealed class TimmLayout : WeightLayout
    {
        public override string Name => "timm";
        protected override Regex UnitKey() => TimmUnitKey();
        protected override int UnitBase => 1;

        public override string? KeyFor(string name)
        {
            if (name == "root.weight") return "stem.conv.weight";
            if (name.StartsWith("head_gn.", StringComparison.Ordinal)) return "norm." + name["head_gn.".Length..];
            if (name.StartsWith("head_conv.", StringComparison.Ordinal)) return "head.fc." + name["head_conv.".Length..];
            var m = UnitPattern().Match(name);
            if (!m.Success) return null;
            var block = $"stages.{int.Parse(m.Groups[1].Value) - 1}.blocks.{int.Parse(m.Groups[2].Value) - 1}";
            var layer = m.Groups[3].Value switch
            {
                "downsample" => "downsample.conv",
                var gn when gn.StartsWith("gn", StringComparison.Ordinal) => "norm" + gn[2..],
                var conv => conv,
            };
            return $"{block}.{layer}.{m.Groups[4].Value}";
        }
    }

    private sealed class BitNpzLayout : WeightLayout
    {
        public override string Name => "bit-npz";
        protected override Regex UnitKey() => NpzUnitKey();

        public override string? KeyFor(string name)
        {
            const string conv = "standardized_conv2d/kernel";
            switch (name)
            {
                case "root.weight": return $"resnet/root_block/{conv}";
                case "head_gn.weight": return "resnet/group_norm/gamma";
                case "head_gn.bias": return "resnet/group_norm/beta";
                case "head_conv.weight": return "resnet/head/conv2d/kernel";
                case "head_conv.bias": return "resnet/head/conv2d/bias";
            }
            var m = UnitPattern().Match(name);
            if (!m.Success) return null;
            var unit = $"resnet/block{m.Groups[1].Value}/unit{int.Parse(m.Groups[2].Value):00}";
            var param = m.Groups[4].Value;
            return m.Groups[3].Value switch
            {
                "gn1" or "gn2" or "gn3" when param is "weight" or "bias" =>
                    $"{unit}/{Letter(m.Groups[3].Value)}/group_norm/{(param == "weight" ? "gamma" : "beta")}",
                "conv1" or "conv2" or "conv3" when param == "weight" => $"{unit}/{Letter(m.Groups[3].Value)}/{conv}",
                "downsample" when param == "weight" => $"{unit}/a/proj/{conv}",
                _ => null,
            };
        }

        // a/b/c: the norm in front of a conv and that conv share the letter.
        private static char Letter(string layer) => (char)('a' + (layer[^1] - '1'));

        public override long[] StoredShape(string name, long[] shape) =>
            shape.Length == 4 ? [shape[2], shape[3], shape[1], shape[0]] : shape;

        public override Tensor FromStored(string name, Tensor stored) => stored.dim() == 4 ? stored.permute(3, 2, 0, 1) : stored;

        public override Tensor ToStored(string name, Tensor value) => value.dim() == 4 ? value.permute(2, 3, 1, 0) : value;

        public override bool Transposes(int dims) => dims == 4;

        public override long[] ModelShape(long[] stored) =>
            stored.Length == 4 ? [stored[3], stored[2], stored[0], stored[1]] : stored;
    }
}
