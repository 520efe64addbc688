using System.Text;
using BitActors.Model.Architecture;
using BitActors.Model.Training;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BreadcrumbCollection
{
    public const string Name = "process-wide breadcrumb";
}

/// <summary>
/// The breadcrumb file: one fixed-size record saying what the process does now, for the launcher to print when the
/// process dies on a signal (tests/Cli.Tests/LauncherTests kill a real one). Process-wide, so these run alone.
/// </summary>
[Collection(BreadcrumbCollection.Name)]
public sealed class BreadcrumbTests : IDisposable
{
    private readonly string path = Path.GetTempFileName();

    public void Dispose()
    {
        Breadcrumb.Close();
        File.Delete(path);
    }

    [Fact]
    public void ATrainingStepLeavesItsLastPhaseAndTheModelItTrains()
    {
        Breadcrumb.Open(path, "bitactors bench train");
        Assert.Equal("bitactors bench train", Breadcrumb.Read(path));
        Assert.Equal(Breadcrumb.RecordSize, new FileInfo(path).Length);
        manual_seed(2);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 3), CPU, new TrainingOptions(MicroBatch: 1));
        classifier.Step(7, new float[2 * 16 * 16], [2, 1, 16, 16], [0, 2], 0.01);
        Assert.Equal("after step 7, Tiny batch 2 at 16 px on cpu", Breadcrumb.Read(path));
        classifier.EvaluateBatch(new float[3 * 16 * 16], [3, 1, 16, 16], [0, 1, 2]);
        Assert.Equal("evaluation, Tiny batch 3 at 16 px on cpu", Breadcrumb.Read(path));
    }

    [Fact]
    public void ALongTextIsCutOnACharacterAndAShortOneReplacesIt()
    {
        Breadcrumb.Open(path, "start");
        Breadcrumb.Mark(string.Concat(Enumerable.Repeat("é\n", 400)));
        var text = Breadcrumb.Read(path);
        Assert.InRange(Encoding.UTF8.GetByteCount(text), 100, Breadcrumb.RecordSize - 1);
        Assert.Matches("^(é )+é? ?$", text);
        Breadcrumb.Mark("short");
        Assert.Equal("short", Breadcrumb.Read(path));
        Breadcrumb.Mark("");
        Assert.Equal("", Breadcrumb.Read(path));
    }
}
