using Google.Protobuf;
using System.Reflection;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using Onnx;
using TorchSharp.Modules;
using static BitActors.Model.Export.OnnxGraph;
using static TorchSharp.torch;

namespace BitActors.Model.Export;

/// <summary>
/// Writes a <see cref="ResNetV2"/> as an ONNX model (opset 17, IR version 8) for inference: input
/// <c>input</c> [N, C, H, W] (preprocessed as predict's, x/127.5 − 1; N, H and W symbolic), output
/// <c>logits</c> [N, classes]. Weight standardisation is folded into the Conv weights; GroupNorm is
/// Reshape → InstanceNormalization → Reshape → Mul → Add (opset 17 has no GroupNormalization, and opset 18's
/// scales per group, not per channel); BatchNorm is BatchNormalization with the running statistics (eval mode).
/// Weights beyond protobuf's 2 GiB message limit go to <c>FILE.onnx.data</c> as ONNX external data.
/// </summary>
public static class OnnxExport
{
    /// <summary>The highest opset python3-onnx 1.12's checker knows (and ONNX Runtime runs).</summary>
    public const int Opset = 17;

    /// <summary>The IR version of ONNX 1.12 (opset 17).</summary>
    public const long IrVersion = 8;

    public const string Format = "onnx";

    /// <summary>Weights above this many bytes go to external data: a protobuf message holds at most 2 GiB, less room for the graph.</summary>
    public const long SingleFileLimit = (2L << 30) - (64L << 20);

    public static bool Handles(string path) =>
        string.Equals(Path.GetExtension(path), ".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Where a large model's weights go: <c>FILE.onnx.data</c>, referenced from the model by its file name.</summary>
    public static string DataPath(string path) => path + ".data";

    /// <summary>
    /// Writes the model to <paramref name="path"/> atomically with a sha256 beside it (as <see cref="CheckpointFiles.Save"/>).
    /// When its weights exceed <paramref name="singleFileLimit"/> bytes they are written to <see cref="DataPath"/>
    /// (with its own sha256) and the .onnx holds the graph only; otherwise a stale data file of an earlier export is removed.
    /// </summary>
    /// <param name="metadata">Written to the model's <c>metadata_props</c> as given.</param>
    public static CheckpointFiles.Saved Write(ResNetV2 model, string path, IReadOnlyDictionary<string, string>? metadata = null, long singleFileLimit = SingleFileLimit)
    {
        if (!Handles(path)) throw new ArgumentException($"an ONNX export needs a .onnx file name, not {path}", nameof(path));
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".partial";
        var dataPath = DataPath(full);
        var dataTmp = dataPath + ".partial";
        var external = WeightBytes(model) > singleFileLimit;
        try
        {
            ModelProto proto;
            using (var data = external ? new FileStream(dataTmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20) : null)
                proto = Build(model, metadata, data, Path.GetFileName(dataPath));
            using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                proto.WriteTo(file);
            if (external)
            {
                var (dataSha, _) = CheckpointFiles.Hash(dataTmp);
                CheckpointFiles.MoveIntoPlace(dataTmp, dataPath, dataSha);
            }
            var (sha, bytes) = CheckpointFiles.Hash(tmp);
            CheckpointFiles.MoveIntoPlace(tmp, full, sha);
            if (!external)
            {
                File.Delete(dataPath); // an earlier export's weights, which this model no longer references
                File.Delete(CheckpointFiles.HashPath(dataPath));
            }
            return new CheckpointFiles.Saved(full, bytes, sha, Format);
        }
        catch
        {
            File.Delete(tmp);
            File.Delete(dataTmp);
            throw;
        }
    }

    /// <summary>Bytes of the model's float tensors (parameters and running statistics) as float32.</summary>
    public static long WeightBytes(ResNetV2 model) =>
        model.state_dict().Values.Where(t => t.is_floating_point()).Sum(t => t.numel()) * sizeof(float);

    /// <summary>The ONNX model; initializers go to <paramref name="external"/> when given, else into the graph.</summary>
    internal static ModelProto Build(ResNetV2 model, IReadOnlyDictionary<string, string>? metadata, Stream? external, string? location)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var config = model.Config;
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var g = new OnnxGraph(config.Name, external, location);

        var h = Conv(g, "root", Module<StdConv2d>(modules, "root"), "input");
        h = g.Node("Pad", "root.pad", [h, g.Int64s("pads_root", 0, 0, 1, 1, 0, 0, 1, 1)], Text("mode", "constant"));
        h = g.Node("MaxPool", "root.pool", [h], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2));
        for (int s = 0; s < config.Units.Length; s++)
            for (int u = 0; u < config.Units[s]; u++)
                h = Unit(g, modules, $"body.block{s + 1}.unit{u + 1:00}", h);
        h = g.Node("Relu", "head_gn.relu", [Norm(g, modules, "head_gn", h)]);
        h = g.Node("GlobalAveragePool", "head.pool", [h]);
        var head = Module<Conv2d>(modules, "head_conv");
        h = g.Node("Conv", "head_conv", [h, g.Initializer("head_conv.weight", head.weight!), g.Initializer("head_conv.bias", head.bias!)],
            Ints("kernel_shape", 1, 1));
        g.NodeTo("Flatten", "head.flatten", "logits", [h], Int("axis", 1));

        g.Graph.Input.Add(FloatValue("input", [null, config.InChannels, null, null], ["N", "", "H", "W"]));
        g.Graph.Output.Add(FloatValue("logits", [null, model.NumClasses], ["N", ""]));
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "bitactors",
            ProducerVersion = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            DocString = $"{config} with {model.NumClasses} classes; input x/127.5 - 1",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    /// <summary>A pre-activation bottleneck (see <see cref="PreActBottleneck"/>).</summary>
    private static string Unit(OnnxGraph g, Dictionary<string, nn.Module> modules, string prefix, string x)
    {
        var preact = g.Node("Relu", prefix + ".gn1.relu", [Norm(g, modules, prefix + ".gn1", x)]);
        var residual = modules.TryGetValue(prefix + ".downsample", out var downsample)
            ? Conv(g, prefix + ".downsample", (StdConv2d)downsample, preact)
            : x;
        var h = Conv(g, prefix + ".conv1", Module<StdConv2d>(modules, prefix + ".conv1"), preact);
        h = g.Node("Relu", prefix + ".gn2.relu", [Norm(g, modules, prefix + ".gn2", h)]);
        h = Conv(g, prefix + ".conv2", Module<StdConv2d>(modules, prefix + ".conv2"), h);
        h = g.Node("Relu", prefix + ".gn3.relu", [Norm(g, modules, prefix + ".gn3", h)]);
        h = Conv(g, prefix + ".conv3", Module<StdConv2d>(modules, prefix + ".conv3"), h);
        return g.Node("Add", prefix + ".add", [h, residual]);
    }

    /// <summary>A bias-free Conv whose weight is the kernel the module applies (standardised once, here, when it standardises).</summary>
    private static string Conv(OnnxGraph g, string name, StdConv2d conv, string x)
    {
        using var kernel = conv.Standardize ? conv.Standardized() : conv.Weight.detach();
        var (k, p, s) = (kernel.shape[2], conv.Padding, conv.Stride);
        return g.Node("Conv", name, [x, g.Initializer(name + ".weight", kernel)],
            Ints("kernel_shape", k, k), Ints("strides", s, s), Ints("pads", p, p, p, p));
    }

    private static string Norm(OnnxGraph g, Dictionary<string, nn.Module> modules, string name, string x) => modules.GetValueOrDefault(name) switch
    {
        GroupNorm gn => GroupNormalization(g, name, gn, x),
        BatchNorm2d bn => BatchNormalization(g, name, bn, x),
        var other => throw new NotSupportedException($"ONNX export: {name} is {other?.GetType().Name ?? "missing"}, not a GroupNorm or BatchNorm2d"),
    };

    /// <summary>torch's GroupNorm exactly: statistics per (sample, group), then the per-channel affine.</summary>
    private static string GroupNormalization(OnnxGraph g, string name, GroupNorm gn, string x)
    {
        var groups = gn.num_groups;
        var grouped = g.Node("Reshape", name + ".group", [x, g.Int64s($"shape_groups{groups}", 0, groups, -1)]);
        var normed = g.Node("InstanceNormalization", name + ".normalize",
            [grouped, g.Filled($"ones{groups}", groups, 1f), g.Filled($"zeros{groups}", groups, 0f)], Float("epsilon", (float)gn.eps));
        var h = g.Node("Reshape", name + ".ungroup", [normed, g.Node("Shape", name + ".shape", [x])]);
        if (gn.weight is null || gn.bias is null) return h;
        var channels = gn.weight.shape[0];
        h = g.Node("Mul", name + ".scale", [h, g.Initializer(name + ".weight", gn.weight.reshape(channels, 1, 1))]);
        return g.Node("Add", name + ".shift", [h, g.Initializer(name + ".bias", gn.bias.reshape(channels, 1, 1))]);
    }

    /// <summary>BatchNorm in eval mode: the running mean and variance.</summary>
    private static string BatchNormalization(OnnxGraph g, string name, BatchNorm2d bn, string x)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw new NotSupportedException($"ONNX export: {name} keeps no running statistics, so it has no eval-mode form");
        var channels = bn.running_mean.shape[0];
        var scale = bn.weight is null ? g.Filled($"ones{channels}", channels, 1f) : g.Initializer(name + ".weight", bn.weight);
        var shift = bn.bias is null ? g.Filled($"zeros{channels}", channels, 0f) : g.Initializer(name + ".bias", bn.bias);
        return g.Node("BatchNormalization", name, [x, scale, shift, g.Initializer(name + ".running_mean", bn.running_mean), g.Initializer(name + ".running_var", bn.running_var)],
            Float("epsilon", (float)bn.eps));
    }

    private static T Module<T>(Dictionary<string, nn.Module> modules, string name) where T : nn.Module =>
        modules.GetValueOrDefault(name) as T
        ?? throw new NotSupportedException($"ONNX export: the model has no {typeof(T).Name} named {name}");
}
