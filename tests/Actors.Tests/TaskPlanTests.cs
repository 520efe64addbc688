using BitActors.Actors.FineTuning;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

public class TaskPlanTests
{
    private static readonly ClassSubset Classes = ClassSubset.Range(5, 5);

    [Fact]
    public void ShotsParseNumbersAndAllOrZeroForEveryExampleAndRefuseTheRest()
    {
        Assert.Equal(new int?[] { 1, 5, 10, null }, TaskPlan.ParseShots(["1,5, 10,all"]));
        Assert.Equal(new int?[] { 1, null }, TaskPlan.ParseShots(["1", "ALL"]));   // items of a HOCON list
        Assert.Equal(new int?[] { 1, null }, TaskPlan.ParseShots(["1,0"]));        // run's and cluster jobs' spelling
        Assert.Equal(new int?[] { null, 5 }, TaskPlan.ParseShots(["0", "all", "5"]));  // one shot count, once
        Assert.Contains("--shots: 'ten'", Assert.Throws<InvalidDataException>(() => TaskPlan.ParseShots(["ten"], "--shots")).Message);
        Assert.Contains("'-1'", Assert.Throws<InvalidDataException>(() => TaskPlan.ParseShots(["-1"])).Message);
        Assert.Throws<InvalidDataException>(() => TaskPlan.ParseShots([""]));
        Assert.Equal([0, 1, 2], TaskPlan.ParseSeeds(["0, 1,2"]));
        Assert.Contains("--seeds: 'x'", Assert.Throws<InvalidDataException>(() => TaskPlan.ParseSeeds(["1,x"], "--seeds")).Message);
        Assert.Throws<InvalidDataException>(() => TaskPlan.ParseSeeds([" , "]));
    }

    [Fact]
    public void ARunNamesAGroupOfOneSeedAfterTheGroupAndSeveralSeedsEachWithItsSeed()
    {
        var one = new TaskPlan("d", Classes, [5, null], [3]) { Scratch = true }.Tasks();
        Assert.Equal(["transfer-5shot", "scratch-5shot", "transfer-all", "scratch-all"], one.Select(t => t.Name));
        Assert.Equal(one.Select(t => t.Name), one.Select(t => t.GroupName));
        Assert.All(one, t => Assert.Equal(3, t.Seed));

        var several = new TaskPlan("d", Classes, [5, null], [0, 1]).Tasks();
        Assert.Equal(["transfer-5shot-seed0", "transfer-5shot-seed1", "transfer-all-seed0", "transfer-all-seed1"], several.Select(t => t.Name));
        Assert.Equal(["transfer-5shot", "transfer-5shot", "transfer-all", "transfer-all"], several.Select(t => t.GroupName));
        Assert.All(several, t => Assert.False(t.FromScratch));
        Assert.Equal(new int?[] { 5, 5, null, null }, several.Select(t => t.Shots));
    }

    [Fact]
    public void TheDemoTrainsEveryShotCountFromTheBackboneAndFromScratchForEverySeedNamedWithItsSeed()
    {
        var tasks = new TaskPlan("d", Classes, [1, 10, null], [0, 1, 2]) { Scratch = true, AllExamplesSeeds = [0], SeedInEveryName = true }.Tasks();
        Assert.Equal(2 * 3 + 2 * 3 + 2 * 1, tasks.Count);
        Assert.Equal(["transfer-1shot", "scratch-1shot", "transfer-10shot", "scratch-10shot", "transfer-all", "scratch-all"],
            tasks.Select(t => t.GroupName).Distinct());
        Assert.All(tasks.Where(t => t.GroupName == "scratch-10shot"), t => Assert.True(t.FromScratch && t.Shots == 10));
        Assert.Equal([0, 1, 2], tasks.Where(t => t.GroupName == "transfer-1shot").Select(t => t.Seed));
        Assert.Equal("scratch-10shot-seed2", tasks.Single(t => t.GroupName == "scratch-10shot" && t.Seed == 2).Name);
        var all = tasks.Where(t => t.Shots is null).ToList();
        Assert.Equal(["transfer-all-seed0", "scratch-all-seed0"], all.Select(t => t.Name));
        Assert.Equal(new[] { false, true }, all.Select(t => t.FromScratch));
        // Names are unique: they name checkpoints and model events.
        Assert.Equal(tasks.Count, tasks.Select(t => t.Name).Distinct().Count());
        // One seed keeps its suffix in the demo, and the group is named.
        var single = new TaskPlan("d", Classes, [null], [4]) { SeedInEveryName = true }.Tasks().Single();
        Assert.Equal(("transfer-all-seed4", "transfer-all"), (single.Name, single.GroupName));
    }
}
