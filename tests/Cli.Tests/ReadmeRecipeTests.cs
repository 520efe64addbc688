using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;
using Xunit.Abstractions;

namespace BitActors.Cli.Tests;

/// <summary>
/// README's "Fine-tune BiT-M on your own images", run as written: its commands between the recipe markers go to bash
/// unchanged, in a folder holding a generated RGB JPEG ImageFolder (3 classes, 64–300 px) and a generated
/// official-layout BiT-M-R50x1.npz (no metadata: its architecture is inferred), with the embedded broker as $KAFKA and
/// the work shrunk by environment variables. The announced safetensors file is then loaded into a ResNet-v2 written
/// in plain PyTorch (strict), and the recipe's ONNX file run in ONNX Runtime, both against predict's logits.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ReadmeRecipeTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(12);
    private static readonly string[] Classes = ["cat", "dog", "fox"];
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("bitactors-recipe");

    public void Dispose() => work.Delete(recursive: true);

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BitActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no BitActors.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The bash block between <c>&lt;!-- recipe:begin --&gt;</c> and <c>&lt;!-- recipe:end --&gt;</c>.</summary>
    public static string Recipe()
    {
        var readme = File.ReadAllText(Path.Combine(Root(), "README.md"));
        int begin = readme.IndexOf("<!-- recipe:begin -->", StringComparison.Ordinal), end = readme.IndexOf("<!-- recipe:end -->", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "README.md has no recipe markers");
        var block = readme[begin..end];
        int code = block.IndexOf("```bash\n", StringComparison.Ordinal) + "```bash\n".Length;
        return block[code..block.LastIndexOf("```", StringComparison.Ordinal)];
    }

    [Fact]
    public void TheRecipeUsesTheBareCommandsAUserTypes()
    {
        var recipe = Recipe();
        Assert.Contains("./bitactors run --backbone BiT-M-R50x1.npz --dataset pets --bootstrap-servers $KAFKA\n", recipe);
        Assert.DoesNotContain("--arch", recipe);
        Assert.DoesNotContain("--channels", recipe);
        Assert.DoesNotContain("--classes", recipe);
    }

    [Fact]
    public async Task TheReadmeRecipeRunsAsWritten()
    {
        var dir = work.FullName;
        WriteImageFolder(Path.Combine(dir, "pets"));
        await WriteOfficialNpz(Path.Combine(dir, "BiT-M-R50x1.npz"));
        var dll = Path.Combine(AppContext.BaseDirectory, "bitactors.dll");
        File.WriteAllText(Path.Combine(dir, "bitactors"), $"#!/bin/sh\nexec dotnet \"{dll}\" \"$@\"\n");
        File.SetUnixFileMode(Path.Combine(dir, "bitactors"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var broker = new CliProcess("kafka", "up");
        var bootstrap = (await broker.WaitForLineAsync("bootstrap=", TimeSpan.FromMinutes(1)))["bootstrap=".Length..];
        var environment = new Dictionary<string, string>
        {
            ["KAFKA"] = bootstrap,
            // 2 cores: the recipe's R50x1 at 64 px, 2 steps of 8.
            ["BITACTORS__FINETUNE__BATCH_SIZE"] = "8", ["BITACTORS__FINETUNE__MAX_STEPS"] = "2", ["BITACTORS__FINETUNE__PRECROP"] = "72",
            ["BITACTORS__FINETUNE__CROP"] = "64", ["BITACTORS__FINETUNE__EVAL_BATCH_SIZE"] = "16", ["BITACTORS__FINETUNE__SHUFFLE_BUFFER"] = "32",
            ["BITACTORS__FINETUNE__DECODE_PARALLELISM"] = "2", ["BITACTORS__DEVICE"] = "cpu",
        };
        var (code, stdout, stderr) = await Bash(dir, Recipe(), environment);
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(code == 0, $"the recipe failed ({code}):\n{stderr}");
        Assert.Contains("from its arrays' shapes", stderr); // R50x1 inferred from the official file

        using var eventJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "event.json")));
        var data = eventJson.RootElement.GetProperty("data");
        var checkpoint = data.GetProperty("checkpoint");
        Assert.Equal("safetensors", checkpoint.GetProperty("format").GetString());
        Assert.Equal(Classes, data.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));
        var model = new Uri(checkpoint.GetProperty("uri").GetString()!).LocalPath;
        Assert.Equal(checkpoint.GetProperty("sha256").GetString(), BitActors.Model.Checkpoints.CheckpointFiles.Hash(model).Sha256);
        Assert.Equal(checkpoint.GetProperty("bytes").GetInt64(), new FileInfo(model).Length);
        Assert.Contains("fox", stdout); // predict names the classes from the file
        var onnx = Path.Combine(dir, "pets.onnx");
        Assert.True(File.Exists(onnx));

        // The same preprocessed tensor through predict, the plain-PyTorch ResNet-v2 and ONNX Runtime.
        var (image, input) = WriteProbe(dir, 64);
        var (pcode, pout, perr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), "predict", "--checkpoint", model, "--json", image);
        Assert.True(pcode == 0, perr);
        using var predicted = JsonDocument.Parse(pout);
        var prediction = predicted.RootElement.GetProperty("predictions")[0];
        Assert.Equal(64, prediction.GetProperty("resolution").GetInt32()); // the crop the model was trained at, from its metadata
        var logits = prediction.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();

        var torch = PyTorchLogits(model, input, dir);
        Assert.InRange(MaxDifference(logits, torch), 0, 1e-4);

        using var session = new InferenceSession(onnx);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(input, [1, 3, 64, 64]))]);
        var fromOnnx = results.First().AsEnumerable<float>().ToArray();
        Assert.InRange(MaxDifference(logits, fromOnnx), 0, 1e-4);
        output.WriteLine($"logits {string.Join(", ", logits)}; pytorch max diff {MaxDifference(logits, torch):G3}, onnx {MaxDifference(logits, fromOnnx):G3}");
    }

    private static float MaxDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }

    /// <summary>3 classes × (6 train + 2 test) RGB JPEGs of 64–300 px, each class its own colour and texture.</summary>
    private static void WriteImageFolder(string root)
    {
        var random = new Random(17);
        foreach (var (split, count) in new[] { ("train", 6), ("test", 2) })
            for (int c = 0; c < Classes.Length; c++)
            {
                var folder = Directory.CreateDirectory(Path.Combine(root, split, Classes[c])).FullName;
                for (int i = 0; i < count; i++)
                {
                    int w = random.Next(64, 301), h = random.Next(64, 301);
                    using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                        {
                            int v = random.Next(64);
                            bitmap.SetPixel(x, y, c switch
                            {
                                0 => new SKColor((byte)(180 + v), (byte)(40 + v), (byte)(40 + v)),
                                1 => new SKColor((byte)(40 + v), (byte)(((x / 8 + y / 8) % 2) * 150 + v), (byte)(40 + v)),
                                _ => new SKColor((byte)(40 + v), (byte)(40 + v), (byte)(y * 190 / h + v)),
                            });
                        }
                    using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
                    File.WriteAllBytes(Path.Combine(folder, $"{i}.jpg"), jpeg.ToArray());
                }
            }
    }

    /// <summary>
    /// An R50x1 in Google's .npz layout and shapes (BiT-M's 21,843-class head), deterministic (seed 0): the project's
    /// export with its metadata member removed, so nothing but the arrays says what it is.
    /// </summary>
    private static async Task WriteOfficialNpz(string path)
    {
        var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(3), "model", "export", "--arch", "R50x1", "--classes", "21843", "--seed", "0", "--output", path);
        Assert.True(code == 0, stderr);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update)) zip.GetEntry(BitActors.Model.Checkpoints.NpzArchive.MetadataMember)!.Delete();
        File.Delete(path + ".sha256");
    }

    /// <summary>A PNG at exactly <paramref name="side"/>² (predict does not resample it) and its preprocessed CHW tensor (x/127.5 − 1).</summary>
    private static (string Image, float[] Input) WriteProbe(string dir, int side)
    {
        var random = new Random(5);
        using var bitmap = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var input = new float[3 * side * side];
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                var rgb = new[] { (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256) };
                bitmap.SetPixel(x, y, new SKColor(rgb[0], rgb[1], rgb[2]));
                for (int ch = 0; ch < 3; ch++) input[(ch * side + y) * side + x] = rgb[ch] / 127.5f - 1;
            }
        var image = Path.Combine(dir, "probe.png");
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(image, png.ToArray());
        return (image, input);
    }

    /// <summary>Logits of the safetensors file in the test's own plain-PyTorch ResNet-v2 (load_state_dict strict=True).</summary>
    private static float[] PyTorchLogits(string model, float[] input, string dir)
    {
        var npy = Path.Combine(dir, "probe.npy");
        PyTorchPeer.WriteNpy(npy, input, [1, 3, 64, 64]);
        return PyTorchPeer.Logits(model, npy);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> Bash(string dir, string script, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", script])
            { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(Timeout);
        try { await process.WaitForExitAsync(cancel.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException($"the recipe ran over {Timeout}:\n{await stderr}"); }
        return (process.ExitCode, await stdout, await stderr);
    }
}
