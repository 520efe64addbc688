using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace BitActors.Model.Export;

/// <summary>
/// Builds one ONNX graph of float32 tensors: nodes in order, weights as initializers. Initializer bytes go
/// into the graph (<c>raw_data</c>) or, when <see cref="External"/> is set, are appended to that stream and
/// referenced as ONNX external data (location, offset, length) in the file named <see cref="ExternalLocation"/>.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly HashSet<string> names = [];
    private readonly Dictionary<string, string> shared = [];
    private int counter;

    public OnnxGraph(string name, Stream? external = null, string? externalLocation = null)
    {
        Graph = new GraphProto { Name = name };
        External = external;
        ExternalLocation = externalLocation;
    }

    public GraphProto Graph { get; }

    public Stream? External { get; }

    public string? ExternalLocation { get; }

    /// <summary>A float32 initializer with the tensor's values (copied; the tensor may be on any device and of any float type).</summary>
    public string Initializer(string name, Tensor value)
    {
        using var scope = NewDisposeScope();
        var cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
        var bytes = cpu.bytes;
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(cpu.shape);
        if (External is null)
        {
            proto.RawData = UnsafeByteOperations.UnsafeWrap(bytes.ToArray());
        }
        else
        {
            proto.DataLocation = TensorProto.Types.DataLocation.External;
            proto.ExternalData.Add(Entry("location", ExternalLocation!));
            proto.ExternalData.Add(Entry("offset", External.Position.ToString()));
            proto.ExternalData.Add(Entry("length", bytes.Length.ToString()));
            External.Write(bytes);
        }
        Graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>A small int64 initializer (shapes, pads), made once per distinct value.</summary>
    public string Int64s(string name, params long[] values)
    {
        var key = "i64:" + string.Join(',', values);
        if (shared.TryGetValue(key, out var existing)) return existing;
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        Graph.Initializer.Add(proto);
        return shared[key] = proto.Name;
    }

    /// <summary>A float32 vector of <paramref name="count"/> copies of <paramref name="value"/> (kept in the graph), made once per distinct value.</summary>
    public string Filled(string name, long count, float value)
    {
        var key = $"f32:{count}:{value}";
        if (shared.TryGetValue(key, out var existing)) return existing;
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.Add(count);
        for (long i = 0; i < count; i++) proto.FloatData.Add(value);
        Graph.Initializer.Add(proto);
        return shared[key] = proto.Name;
    }

    /// <summary>Adds a node; returns the name of its (single) output, the node's name.</summary>
    public string Node(string op, string name, string[] inputs, params AttributeProto[] attributes) =>
        NodeTo(op, name, output: null, inputs, attributes);

    /// <summary>Adds a node whose output has the given name (a graph output), or the node's name when null.</summary>
    public string NodeTo(string op, string name, string? output, string[] inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Unique(name) };
        node.Input.AddRange(inputs);
        node.Output.Add(output is null ? node.Name : Unique(output));
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node.Output[0];
    }

    /// <summary>Declares a float32 graph input or output; a null dimension is symbolic, named by <paramref name="dimNames"/>.</summary>
    public static ValueInfoProto FloatValue(string name, long?[] dims, string[] dimNames)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
        {
            shape.Dim.Add(dims[i] is long d
                ? new TensorShapeProto.Types.Dimension { DimValue = d }
                : new TensorShapeProto.Types.Dimension { DimParam = dimNames[i] });
        }
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Text(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static StringStringEntryProto Entry(string key, string value) => new() { Key = key, Value = value };

    private string Unique(string name)
    {
        var candidate = name;
        while (!names.Add(candidate)) candidate = $"{name}_{++counter}";
        return candidate;
    }
}
