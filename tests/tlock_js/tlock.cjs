// drand's tlock-js (npm, the version pinned in package-lock.json), offline: the chain info and
// the round's beacon come from files, never from a relay. Used by tests/draw/test_tlock.py.
//
//   node tlock.cjs encrypt INFO.json ROUND      < plaintext  > armored age file
//   node tlock.cjs decrypt INFO.json BEACON.json [--unverified] < age file  > plaintext
//
// --unverified: hand tlock-js the beacon as the file's round without drand-client's BLS check,
// so that a wrong signature reaches tlock-js's own IBE integrity check (a test of that check).
//
// INFO.json: drand's /info (public_key, period, genesis_time, hash, groupHash, schemeID,
// metadata.beaconID). BEACON.json: drand's /public/ROUND (round, signature, randomness); tlock-js
// verifies its BLS signature against the chain key before it uses it.
"use strict"
const fs = require("fs")
const {timelockEncrypt, timelockDecrypt} = require("tlock-js")

console.log = console.error // tlock-js logs the beacon it fetched; stdout carries the data only

class FileClient {
    constructor(info, beacon, unverified = false) {
        this.info = info
        this.beacon = beacon
        this.unverified = unverified
        this.options = {disableBeaconVerification: unverified, noCache: true}
    }
    chain() {
        const info = this.info
        return {baseUrl: "file:", info: async () => info}
    }
    async get(round) {
        if (!this.beacon || (this.beacon.round !== round && !this.unverified)) {
            throw new Error(`no beacon for round ${round}`)
        }
        return {...this.beacon, round}
    }
    async latest() {
        return this.beacon
    }
}

async function main() {
    const [command, infoPath, arg, flag] = process.argv.slice(2)
    const info = JSON.parse(fs.readFileSync(infoPath, "utf8"))
    const input = fs.readFileSync(0)
    if (command === "encrypt") {
        const out = await timelockEncrypt(Number(arg), input, new FileClient(info, null))
        process.stdout.write(out)
    } else if (command === "decrypt") {
        const beacon = JSON.parse(fs.readFileSync(arg, "utf8"))
        const out = await timelockDecrypt(input.toString("latin1"), new FileClient(info, beacon, flag === "--unverified"))
        process.stdout.write(out)
    } else {
        throw new Error("usage: tlock.cjs encrypt|decrypt INFO.json ROUND|BEACON.json")
    }
}

main().catch((err) => {
    console.error(String(err && err.message ? err.message : err))
    process.exit(1)
})
