using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Tests;

public sealed class SeededOrderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(300)]
    [InlineData(1000)]
    [InlineData(4097)]
    public void TheOrderIsAPermutationOfEveryIndex(int count)
    {
        var order = new SeededOrder(count, seed: 7);
        var seen = Enumerable.Range(0, count).Select(k => order.At(k)).ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), seen.Order());
    }

    [Fact]
    public void TheSameSeedGivesTheSameOrderAndAnotherSeedAnother()
    {
        long[] Of(int seed) => Enumerable.Range(0, 300).Select(k => new SeededOrder(300, seed).At(k)).ToArray();
        Assert.Equal(Of(0), Of(0));
        Assert.NotEqual(Of(0), Of(1));
        // Far from the identity: most positions move, and rank correlation with the index order is near zero.
        var order = Of(0);
        Assert.True(order.Where((index, k) => index != k).Count() > 290);
        double mean = 149.5, covariance = order.Select((index, k) => (index - mean) * (k - mean)).Sum();
        double variance = Enumerable.Range(0, 300).Sum(k => (k - mean) * (k - mean));
        Assert.InRange(covariance / variance, -0.2, 0.2);
    }

    [Fact]
    public void AClassSortedSourceIsMixedInEveryWindowOfTheOrder()
    {
        // 10 classes × 1,000 images sorted by class: every window of 100 positions holds most classes.
        var order = new SeededOrder(10_000, seed: 0);
        for (int start = 0; start < 10_000; start += 100)
        {
            var classes = Enumerable.Range(start, 100).Select(k => order.At(k) / 1000).Distinct().Count();
            Assert.True(classes >= 8, $"positions {start}..{start + 99} hold only {classes} classes");
        }
    }

    [Fact]
    public void AnExternalBrokerGetsThePartitionsAskedForOrTheConfiguredDefault()
    {
        Assert.Equal((12, null), TopicSizing.Plan("t", null, 12, embedded: false, 1_000_000, 50_000_000_000));
        Assert.Equal((3, null), TopicSizing.Plan("t", 3, 12, embedded: false, 1_000_000, 50_000_000_000));
    }

    [Fact]
    public void TheEmbeddedBrokerRaisesTooFewPartitionsWithAWarningAndKeepsMore()
    {
        int minimum = TopicSizing.PartitionsFor(20_000, 1_000_000_000);
        Assert.True(minimum > 100);
        Assert.Equal((minimum, null), TopicSizing.Plan("t", null, 12, embedded: true, 20_000, 1_000_000_000));
        var (raised, warning) = TopicSizing.Plan("bit.data.x.train", 4, 12, embedded: true, 20_000, 1_000_000_000);
        Assert.Equal(minimum, raised);
        Assert.Contains($"bit.data.x.train: 4 partition(s) raised to {minimum}", warning);
        Assert.Contains("would lose data", warning);
        Assert.Equal((minimum + 5, null), TopicSizing.Plan("t", minimum + 5, 12, embedded: true, 20_000, 1_000_000_000));
    }

    [Fact]
    public void TheRecordLimitIsTheSmallestOfProducerBrokerAndTopic()
    {
        Assert.Equal(1_000_000, MessageLimits.RecordLimit(1_000_000, null, null));
        Assert.Equal(800_000, MessageLimits.RecordLimit(1_000_000, 800_000, null));
        Assert.Equal(500_000, MessageLimits.RecordLimit(1_000_000, 1_048_588, 500_000));
        Assert.Equal(2_000_000, MessageLimits.RecordLimit(5_000_000, 2_000_000, 3_000_000));
    }

    [Fact]
    public void TheProducerLimitFollowsTheClientSettings()
    {
        Assert.Equal(KafkaClients.MaxMessageBytes, MessageLimits.ProducerMaxBytes(new KafkaEndpoint("localhost:1")));
        var settings = KafkaClientSettings.From([new("message.max.bytes", "4000000")], new System.Collections.Hashtable());
        Assert.Equal(4_000_000, MessageLimits.ProducerMaxBytes(new KafkaEndpoint("localhost:1", settings)));
    }

    [Fact]
    public void RetentionIsDescribedWhenTheTopicExpiresItsRecords()
    {
        Assert.False(new TopicConfig(-1, -1, null).Expires);
        var week = new TopicConfig(604_800_000, -1, null);
        Assert.True(week.Expires);
        Assert.Equal("retention.ms=604800000 (7 days)", week.DescribeRetention());
        Assert.True(new TopicConfig(-1, 1_000_000, null).Expires);
    }
}
