using BitActors.Model.Recipe;
using BitActors.Model.Training;

namespace BitActors.Model.Tests;

public class TrainingPositionTests
{
    private static readonly TrainingPosition Position = new(StepSchedule.Upstream(16, 100), 16, 640, "topic group trainers", 3);

    [Fact]
    public void TheDataSourcesResumePositionTravelsThroughATrainingStateUnread()
    {
        var opaque = """{"Epoch":1,"Epochs":{"1":{"0":{"From":37,"Skip":[39,42]}}}}""";
        var read = TrainingPosition.FromJson((Position with { Resume = opaque }).ToJson())!;
        Assert.Equal(opaque, read.Resume);
        Assert.Null(read.Conflict(Position)); // where the data stands is not a different run
    }

    [Fact]
    public void AStateWrittenBeforeResumePositionsExistedReadsWithoutOne()
    {
        var old = Position.ToJson().Replace(",\"Resume\":null", "");
        Assert.DoesNotContain("Resume", old);
        Assert.Null(TrainingPosition.FromJson(old)!.Resume);
    }
}
